// How long planning takes, next to the seeds' way of building the same data (join + label, no escaping, no
// checks, no fallback) written inline as the competitor. Planning is pure CPU; the numbers are per call.

import { existsSync } from 'node:fs';

// Measure the built code when there is one (what users run; tsx adds helpers around every function).
const dist = new URL('../dist/index.js', import.meta.url);
const lib: typeof import('../src/index.js') = await import(
  existsSync(dist) ? dist.href : new URL('../src/index.js', import.meta.url).href
);
const { formatMountLabel, planAufsMount, planOverlayMount } = lib;

const id = (i: number) => i.toString(16).padStart(64, '0');
const home = '/var/lib/containers/storage/overlay';
const me = `${home}/${id(99999)}`;
const label = 'system_u:object_r:container_file_t:s0:c123,c456';

/** Median µs per call over 5 batches of ~100 ms, after ~300 ms of warm-up (the JIT settles late). */
function time(fn: () => unknown): number {
  const batch = (ns: bigint) => {
    let runs = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0n;
    while (elapsed < ns) {
      for (let i = 0; i < 20; i++) fn();
      runs += 20;
      elapsed = process.hrtime.bigint() - start;
    }
    return Number(elapsed) / runs / 1000;
  };
  batch(300_000_000n);
  const batches = Array.from({ length: 5 }, () => batch(100_000_000n));
  return batches.sort((a, b) => a - b)[2]!;
}

// The seeds: fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lowers, ":"), ...) + label.
function seedsOverlay(lowers: string[]): string {
  return formatMountLabel(`lowerdir=${lowers.join(':')},upperdir=${me}/diff,workdir=${me}/work`, label);
}

const rows: string[][] = [];
for (const n of [1, 10, 36, 100, 500]) {
  const lowers = Array.from({ length: n }, (_, i) => `${home}/${id(i)}/diff`);
  const names = lowers.map((_, i) => `l/${String(i).padStart(26, 'Q')}`);
  const opts = { target: `${me}/merged`, lowers, upper: `${me}/diff`, work: `${me}/work`, label };
  const auto = planOverlayMount(opts);
  rows.push([
    `overlay ${n} layers`,
    auto.strategy,
    time(() => planOverlayMount(opts)).toFixed(2),
    n <= 128
      ? time(() => planOverlayMount({ ...opts, links: { home, names }, strategy: 'link-relative' })).toFixed(
          2,
        )
      : '— (over a page)',
    time(() => planOverlayMount({ ...opts, kernel: { lowerdirPlus: true } })).toFixed(2),
    time(() => seedsOverlay(lowers)).toFixed(2),
  ]);
}
console.log(
  `code: ${existsSync(dist) ? 'dist (built)' : 'src via tsx'}; µs per call, median of 5 batches; the machine is shared, so numbers are noisy`,
);
console.log(
  '| case | auto picks | auto µs | link-relative µs | auto+lowerdir+ µs | seeds join µs (no checks) |',
);
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

console.log('\n| aufs case | steps | planAufsMount µs | seeds loop µs |');
console.log('|---|---|---|---|');
for (const n of [10, 100, 500]) {
  const ro = Array.from({ length: n }, (_, i) => `/var/lib/docker/aufs/diff/${id(i)}`);
  const opts = { target: '/var/lib/docker/aufs/mnt/x', rw: '/var/lib/docker/aufs/diff/x', ro, label };
  // The seed's packing loop (first mount to the budget, one append per remaining layer), inline.
  const seeds = () => {
    const budget = 4096 - label.length - 54;
    let b = `br:${opts.rw}=rw`;
    const out: string[] = [];
    let i = 0;
    for (; i < ro.length && b.length + ro[i]!.length + 7 <= budget; i++) b += `:${ro[i]}=ro+wh`;
    out.push(formatMountLabel(`${b},dio,xino=/dev/shm/aufs.xino`, label));
    for (; i < ro.length; i++) out.push(formatMountLabel(`append:${ro[i]}=ro+wh`, label));
    return out;
  };
  console.log(
    `| ${n} layers | ${planAufsMount(opts).steps.length} | ${time(() => planAufsMount(opts)).toFixed(2)} | ${time(seeds).toFixed(2)} |`,
  );
}
