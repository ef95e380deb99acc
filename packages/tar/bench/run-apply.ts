/**
 * Child process of the benches: applies one layer file into one dir and prints
 * `{ seconds, maxRSS, entries, bytes }` as JSON. Timing starts when the apply starts (not at Node's
 * start-up), as a library caller sees it; maxRSS is the whole process's peak. Uses the built package
 * (dist/) when there is one, as users get it.
 */
import { createReadStream, existsSync } from 'node:fs';

const [layer, target, format = 'flatten'] = process.argv.slice(2);
if (!layer || !target) {
  console.error('usage: run-apply.ts <layer.tar[.gz|.zst]> <target dir> [format]');
  process.exit(2);
}
const dist = new URL('../dist/index.js', import.meta.url);
const { apply } = (await import(
  existsSync(dist) ? dist.href : '../src/index.js'
)) as typeof import('../src/index.js');
const t0 = process.hrtime.bigint();
// By path, as run-apply.mjs (OVL_BENCH_INPUT=stream: a 1 MiB ReadStream).
const input =
  process.env.OVL_BENCH_INPUT === 'stream' ? createReadStream(layer, { highWaterMark: 1 << 20 }) : layer;
const threads = process.env.OVL_BENCH_THREADS ? Number(process.env.OVL_BENCH_THREADS) : undefined;
const r = await apply(input, target, { format: format as 'flatten', threads });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  JSON.stringify({
    seconds,
    maxRSS: process.resourceUsage().maxRSS * 1024,
    entries: r.entries,
    bytes: r.bytes,
  }),
);
