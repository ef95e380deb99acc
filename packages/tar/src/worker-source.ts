/**
 * Source text for this package's workers (`new Worker(source, { eval: true })`) that runs whether Node
 * reads it as a CommonJS script or as an ES module.
 *
 * Why: a worker inherits the process's options, and under `node --input-type=module -e …` (or
 * `--experimental-default-type=module`) eval'd text is a module, where `require` is not defined, so the
 * worker died at its first line — apply threaded no file, diff's content reader fell back to the main
 * thread. The program now gets `require` from `createRequire`, reached through `import()`, which both
 * kinds of source have.
 *
 * Why not hand the workers an `execArgv` of our own without those flags: an explicit list that holds a
 * V8 or per-process option (`--max-old-space-size`, `--stack-size`, `--expose-gc`…) makes the Worker
 * constructor throw ERR_WORKER_INVALID_EXEC_ARGV, and then no thread starts at all; the inherited list
 * does not.
 */
export function portableWorkerSource(program: string, requireFrom: string): string {
  return (
    `import('node:module').then((nodeModule) => {` +
    ` const require = nodeModule.createRequire(${JSON.stringify(requireFrom)});\n${program}\n});`
  );
}
