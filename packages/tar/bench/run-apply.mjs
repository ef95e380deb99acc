// Plain-JS twin of run-apply.ts for the benches: no tsx in the measured process (tsx alone is ~35 MB
// of RSS and loads modules through a worker). Needs `pnpm --filter @ovl/tar build` first.
import { createReadStream } from 'node:fs';
import { apply } from '../dist/index.js';

const [layer, target, format = 'flatten'] = process.argv.slice(2);
// The layer file by path (plain tars are then read with positional reads, big bodies copied file to
// file); OVL_BENCH_INPUT=stream passes a 1 MiB ReadStream instead, as callers with only a stream do.
const t0 = process.hrtime.bigint();
const r = await apply(
  process.env.OVL_BENCH_INPUT === 'stream' ? createReadStream(layer, { highWaterMark: 1 << 20 }) : layer,
  target,
  { format, threads: process.env.OVL_BENCH_THREADS ? Number(process.env.OVL_BENCH_THREADS) : undefined },
);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  JSON.stringify({
    seconds,
    maxRSS: process.resourceUsage().maxRSS * 1024,
    entries: r.entries,
    bytes: r.bytes,
  }),
);
