/**
 * `execArgv` for this package's workers, whose source is a CommonJS script passed as a string (eval).
 * A worker inherits the process's Node options, and two of them make it read that string as an ES
 * module, where `require` is not defined and the worker dies at its first line: `--input-type=module`
 * (`node --input-type=module -e …`) and `--experimental-default-type=module`. Under the first, apply's
 * writer threads never started (0 of 99,900 files threaded), and diff's content reader died too (its
 * reads fell back to the main thread). Every other option is kept.
 */
export function scriptWorkerArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--input-type' || a === '--experimental-default-type') {
      i++; // and its value
      continue;
    }
    if (a.startsWith('--input-type=') || a.startsWith('--experimental-default-type=')) continue;
    out.push(a);
  }
  return out;
}
