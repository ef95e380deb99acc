/**
 * Child process of the benches: applies one layer file into one dir and prints
 * `{ seconds, maxRSS, entries, bytes }` as JSON. Timing starts when the apply starts (not at Node's
 * start-up), as a library caller sees it; maxRSS is the whole process's peak (VmHWM). Uses the built package
 * (dist/) when there is one, as users get it.
 */
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const [layer, target, format = 'flatten'] = process.argv.slice(2);
if (!layer || !target) {
  console.error('usage: run-apply.ts <layer.tar[.gz|.zst]> <target dir> [format]');
  process.exit(2);
}
const dist = new URL('../dist/index.js', import.meta.url);
const { apply, tuneProcess } = (await import(
  existsSync(dist) ? dist.href : '../src/index.js'
)) as typeof import('../src/index.js');
const threads = process.env.OVL_BENCH_THREADS ? Number(process.env.OVL_BENCH_THREADS) : undefined;
// OVL_BENCH_WARM=n: the same layer applied n times before with the same options, untimed (as run-apply.mjs).
for (let i = 0; i < Number(process.env.OVL_BENCH_WARM ?? 0); i++) {
  const scratch = `${target}-warm`;
  mkdirSync(scratch);
  await apply(layer, scratch, { format: format as 'flatten', threads });
  rmSync(scratch, { recursive: true, force: true });
}
const t0 = process.hrtime.bigint();
// OVL_BENCH_TUNE=1: the process tuned as the `ovl` command tunes its own (inside the timed span).
if (process.env.OVL_BENCH_TUNE === '1') tuneProcess();
// By path, as run-apply.mjs (OVL_BENCH_INPUT=stream: a 1 MiB ReadStream).
const input =
  process.env.OVL_BENCH_INPUT === 'stream' ? createReadStream(layer, { highWaterMark: 1 << 20 }) : layer;
const r = await apply(input, target, { format: format as 'flatten', threads });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  JSON.stringify({
    seconds,
    maxRSS: peakRss(),
    entries: r.entries,
    bytes: r.bytes,
  }),
);

/**
 * This process's peak RSS. VmHWM, not getrusage's maxrss: Linux carries maxrss over from the pre-exec
 * image, so a child forked from a big parent reports at least the parent's RSS at the fork.
 */
function peakRss(): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}
