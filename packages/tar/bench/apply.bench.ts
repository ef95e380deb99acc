/**
 * apply vs GNU tar -x (and bsdtar; cp -a for the big files), side by side in one run, on tmpfs and on
 * the root disk. Prints a markdown table: medians over OVL_BENCH_ROUNDS rounds (default 5), MB/s of tar
 * stream, files/s, peak RSS, and the ratio of each median to GNU tar's.
 *
 *   pnpm --filter @ovl/tar build && pnpm --filter @ovl/tar bench apply
 *
 * Each run extracts into a fresh empty dir, removed afterwards (not timed). External tools are timed with
 * /usr/bin/time (wall time and peak RSS of the process); ovl in its child process from the start of
 * `apply` to its end (Node's ~40 ms start-up excluded), with the process's peak RSS. The layer is read
 * with `createReadStream(path, { highWaterMark: 1 MiB })`, as the README recommends.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { bigCorpus, type Corpus, compressedCorpus, rootfsCorpus, smallCorpus } from './corpora.js';

const rounds = Number(process.env.OVL_BENCH_ROUNDS ?? 5);
const only = process.env.OVL_BENCH_ONLY; // e.g. "small" to run one corpus
// OVL_BENCH_FS=tmpfs or =disk runs one of the two (the root disk can take minutes per round when slow).
const onlyFs = process.env.OVL_BENCH_FS;
const fsRoots: Array<[string, string]> = (
  [
    ['tmpfs', '/dev/shm'],
    ['root disk', '/var/tmp'],
  ] as Array<[string, string]>
).filter(([name]) => !onlyFs || (onlyFs === 'disk' ? name === 'root disk' : name === onlyFs));
const hasTime = existsSync('/usr/bin/time');

interface Sample {
  seconds: number;
  maxRSS: number;
}

function timed(cmd: string, args: string[]): Sample {
  if (!hasTime) {
    const t0 = process.hrtime.bigint();
    execFileSync(cmd, args, { stdio: 'ignore' });
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, maxRSS: Number.NaN };
  }
  const out = join('/tmp', `ovl-bench-time-${process.pid}`);
  const r = spawnSync('/usr/bin/time', ['-o', out, '-f', '%e %M', cmd, ...args], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
  const [s, kb] = readFileSync(out, 'utf8').trim().split('\n').at(-1)!.split(' ');
  rmSync(out, { force: true });
  return { seconds: Number(s), maxRSS: Number(kb) * 1024 };
}

function ovl(layer: string, target: string, threads?: number, tune = false, warm = false): Sample {
  // The built package without tsx, as users run it (tsx alone adds ~35 MB of RSS); the .ts twin otherwise.
  const built = existsSync(join(import.meta.dirname, '../dist/index.js'));
  const args = built
    ? [join(import.meta.dirname, 'run-apply.mjs'), layer, target]
    : ['--import', 'tsx', join(import.meta.dirname, 'run-apply.ts'), layer, target];
  const env = {
    ...process.env,
    ...(threads === undefined ? {} : { OVL_BENCH_THREADS: String(threads) }),
    ...(tune ? { OVL_BENCH_TUNE: '1' } : {}),
    ...(warm ? { OVL_BENCH_WARM: '3' } : {}),
  };
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`ovl apply failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  return { seconds: j.seconds, maxRSS: j.maxRSS };
}

type Tool = { name: string; run: (layer: string, target: string, corpus: Corpus) => Sample };
const tools: Tool[] = [
  {
    name: 'GNU tar -x',
    run: (layer, target) => timed('tar', ['--xattrs', '--xattrs-include=*', '-xf', layer, '-C', target]),
  },
  { name: 'bsdtar -x', run: (layer, target) => timed('bsdtar', ['-xpf', layer, '-C', target]) },
  { name: 'ovl apply', run: (layer, target) => ovl(layer, target) },
  // The calling thread alone (`threads: 0`): what the writer threads add.
  { name: 'ovl, 1 thread', run: (layer, target) => ovl(layer, target, 0) },
  // The process tuned as the `ovl` command tunes its own (tuneProcess: malloc thresholds, V8 flags).
  { name: 'ovl apply, tuned', run: (layer, target) => ovl(layer, target, undefined, true) },
  // A daemon's steady state: the same layer applied three times before in the child, untimed, with the
  // same options; then the timed apply — V8's code compiled (and writer threads up, where they start).
  { name: 'ovl apply, warm process', run: (layer, target) => ovl(layer, target, undefined, false, true) },
  // The same with writer threads asked for (`threads: 2`) in every apply of the child.
  { name: 'ovl, warm, 2 threads', run: (layer, target) => ovl(layer, target, 2, false, true) },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function entriesOf(tar: string): number {
  return execFileSync('tar', ['-tf', tar], { maxBuffer: 1 << 30 })
    .toString()
    .split('\n')
    .filter(Boolean).length;
}

async function main() {
  const loadAtStart = loadavg()[0]!;
  const corpora: Corpus[] = [];
  if (!only || only === 'rootfs') corpora.push(rootfsCorpus());
  // The rootfs as registries serve it: every tool decompresses (GNU tar by running gzip / zstd beside it).
  if (!only || only === 'rootfs-gzip') corpora.push(compressedCorpus(rootfsCorpus(), 'gzip'));
  if (!only || only === 'rootfs-zstd') corpora.push(compressedCorpus(rootfsCorpus(), 'zstd'));
  if (!only || only === 'small') corpora.push(await smallCorpus());
  if (!only || only === 'big') corpora.push(await bigCorpus());
  const rows: string[] = [];
  for (const corpus of corpora) {
    // MB/s of tar (the plain layer's bytes), whether the file read is compressed or not.
    const size = statSync(corpus.plain ?? corpus.tar).size;
    const files = entriesOf(corpus.plain ?? corpus.tar);
    const isBig = corpus.name.includes('256 MiB');
    for (const [fsName, base] of fsRoots) {
      const work = mkdtempSync(join(base, 'ovl-bench-'));
      try {
        const list: Tool[] = [...tools];
        if (isBig) {
          // cp -a of the same files, extracted once on the same file system: the floor for big files.
          const src = join(work, 'cp-src');
          mkdirSync(src);
          execFileSync('tar', ['-xf', corpus.tar, '-C', src]);
          list.push({ name: 'cp -a', run: (_l, target) => timed('cp', ['-a', `${src}/.`, target]) });
        }
        const samples = new Map<string, Sample[]>(list.map((t) => [t.name, []]));
        for (let i = 0; i < rounds; i++) {
          // Interleave the tools round by round, so machine noise hits all of them alike.
          for (const tool of list) {
            const target = join(work, 'out');
            mkdirSync(target);
            samples.get(tool.name)!.push(tool.run(corpus.tar, target, corpus));
            rmSync(target, { recursive: true, force: true });
            spawnSync('sync');
          }
        }
        const gnu = median(samples.get('GNU tar -x')!.map((s) => s.seconds));
        for (const tool of list) {
          const ss = samples.get(tool.name)!;
          const t = median(ss.map((s) => s.seconds));
          const rss = Math.max(...ss.map((s) => s.maxRSS));
          rows.push(
            `| ${corpus.name}${corpus.note ? ` (${corpus.note})` : ''} | ${fsName} | ${tool.name} | ${t.toFixed(2)} s | ${(
              size / 1e6 / t
            ).toFixed(
              0,
            )} | ${Math.round(files / t).toLocaleString('en-US')} | ${(rss / 1e6).toFixed(0)} MB | ${(t / gnu).toFixed(2)}× |`,
          );
          console.error(rows.at(-1));
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
  }
  console.log(
    `\napply, ${rounds} rounds, medians (peak RSS: the max over rounds), ${new Date().toISOString()}, load average ${loadAtStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`,
  );
  console.log('| corpus | fs | tool | median | MB/s | files/s | peak RSS | vs GNU tar |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await main();
