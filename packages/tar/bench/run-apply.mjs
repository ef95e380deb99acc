// Plain-JS twin of run-apply.ts for the benches: no tsx in the measured process (tsx alone is ~35 MB
// of RSS and loads modules through a worker). Needs `pnpm --filter @ovl/tar build` first.
import { createReadStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { apply, tuneProcess } from '../dist/index.js';

const [layer, target, format = 'flatten'] = process.argv.slice(2);
// The layer file by path (plain tars are then read with positional reads, big bodies copied file to
// file); OVL_BENCH_INPUT=stream passes a 1 MiB ReadStream instead, as callers with only a stream do.
const threads = process.env.OVL_BENCH_THREADS ? Number(process.env.OVL_BENCH_THREADS) : undefined;
// OVL_BENCH_WARM=n: a daemon's steady state: the same layer applied n times before, with the same
// options, into a scratch dir beside the target, untimed; then the timed apply. It takes a few: a
// process's second apply is not yet its steady state (V8 still tiers code up).
for (let i = 0; i < Number(process.env.OVL_BENCH_WARM ?? 0); i++) {
  const scratch = `${target}-warm`;
  mkdirSync(scratch);
  await apply(layer, scratch, { format, threads });
  rmSync(scratch, { recursive: true, force: true });
}
const t0 = process.hrtime.bigint();
// OVL_BENCH_TUNE=1: the process tuned as the `ovl` command tunes its own (inside the timed span).
if (process.env.OVL_BENCH_TUNE === '1') tuneProcess();
const r = await apply(
  process.env.OVL_BENCH_INPUT === 'stream' ? createReadStream(layer, { highWaterMark: 1 << 20 }) : layer,
  target,
  { format, threads },
);
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
function peakRss() {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}
