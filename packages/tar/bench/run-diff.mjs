// Child process of diff.bench.ts: diffs one upper dir into a tar file and prints
// `{ seconds, cpu }` as JSON, timed around the call (Node's start-up excluded). The built package, as
// users run it (`pnpm --filter @ovl/tar build` first). Mode 'stream': `diff()` piped into a
// WriteStream; mode 'file': `diffToFile()`.
import { createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { diff, diffToFile, tuneProcess } from '../dist/index.js';

const [src, out, mode = 'stream'] = process.argv.slice(2);
// OVL_BENCH_WARM=n: a process that has diffed before — the same tree n times into a scratch file, untimed.
for (let i = 0; i < Number(process.env.OVL_BENCH_WARM ?? 0); i++) {
  await diffToFile({ upper: src }, `${out}.warm`);
  rmSync(`${out}.warm`);
}
const t0 = performance.now();
const c0 = process.cpuUsage();
// OVL_BENCH_TUNE=1: the process tuned as the `ovl` command tunes its own (inside the timed span).
if (process.env.OVL_BENCH_TUNE === '1') tuneProcess();
if (mode === 'file') await diffToFile({ upper: src }, out);
else await pipeline(diff({ upper: src }), createWriteStream(out));
const cpu = process.cpuUsage(c0);
process.stdout.write(
  JSON.stringify({ seconds: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 }),
);
