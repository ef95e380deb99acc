// diff() against GNU `tar -c` on the same trees, side by side in one run: a rootfs-like corpus and
// 100,000 small files, each read from tmpfs and from the root disk (warm page cache: dropping caches
// would disturb everyone else on a shared machine). Both write the layer to a file on tmpfs.
// ovl runs in a child process (bench/run-diff.mjs, the built package); its time is measured inside the
// child around the call (Node's start-up excluded, GNU tar's ~1 ms start-up included), two ways: `diff()`
// piped into a WriteStream, and `diffToFile()`. Peak RSS is the child's, from /usr/bin/time. CPU time
// (user + system) is reported too: on a loaded machine it says more than wall time.
//   pnpm --filter @ovl/tar bench diff          (OVL_BENCH_ROUNDS=5 for more rounds)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = '/var/cache/ovl-bench';
const ROUNDS = Number(process.env.OVL_BENCH_ROUNDS ?? 3);
const ONLY = process.env.OVL_BENCH_ONLY; // 'rootfs' or 'small'
const ONLY_FS = process.env.OVL_BENCH_FS; // 'tmpfs' or 'disk'
const loadAtStart = loadavg()[0]!;

/** The rootfs-like corpus: the apply bench's debootstrap rootfs when cached, else a ~250 MB slice of /usr. */
function rootfsCorpus(): { path: string; label: string } {
  for (const name of ['rootfs-dir', 'rootfs', 'minbase']) {
    const p = join(CACHE, name);
    if (existsSync(join(p, 'usr')) && existsSync(join(p, 'etc')))
      return { path: p, label: 'debootstrap minbase rootfs' };
  }
  const p = join(CACHE, 'diff-usr-slice');
  if (!existsSync(join(p, '.complete'))) {
    rmSync(p, { recursive: true, force: true });
    mkdirSync(join(p, 'usr/lib'), { recursive: true });
    mkdirSync(join(p, 'usr/share'), { recursive: true });
    for (const d of ['sbin', 'share/doc', 'share/perl', 'lib/python3.11', 'lib/python3'])
      if (existsSync(`/usr/${d}`)) execFileSync('cp', ['-a', `/usr/${d}`, join(p, 'usr', d)]);
    writeFileSync(join(p, '.complete'), '');
  }
  return { path: p, label: '/usr slice' };
}

/** 100,000 files of 0–4 KiB in 100 directories, deterministic content. */
function smallCorpus(): { path: string; label: string } {
  const p = join(CACHE, 'diff-small-100k');
  if (!existsSync(join(p, '.complete'))) {
    rmSync(p, { recursive: true, force: true });
    let x = 7;
    const block = Buffer.alloc(4096);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 0xff;
    for (let d = 0; d < 100; d++) {
      const dir = join(p, `d${String(d).padStart(3, '0')}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 1000; f++) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        writeFileSync(join(dir, `f${String(f).padStart(4, '0')}`), block.subarray(0, x % 4097));
      }
    }
    writeFileSync(join(p, '.complete'), '');
  }
  return { path: p, label: '100,000 small files' };
}

function countEntries(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    n++;
    if (e.isDirectory()) n += countEntries(join(dir, e.name));
  }
  return n;
}

interface Run {
  seconds: number;
  cpu: number;
  rssMiB: number;
  bytes: number;
}

function timed(cmd: string[], parse?: (stdout: string) => { seconds: number; cpu: number }): Run {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const [user, sys, rssKiB] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [
    number,
    number,
    number,
  ];
  const own = parse?.(r.stdout);
  return { seconds: own?.seconds ?? wall, cpu: own?.cpu ?? user + sys, rssMiB: rssKiB / 1024, bytes: 0 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const child = fileURLToPath(new URL('./run-diff.mjs', import.meta.url));
const outDir = `/dev/shm/ovl-diff-bench-${process.pid}`;
mkdirSync(outDir, { recursive: true });
const rows: string[] = [];
const labels: string[] = [];
try {
  const corpora = [];
  if (!ONLY || ONLY === 'rootfs') corpora.push(rootfsCorpus());
  if (!ONLY || ONLY === 'small') corpora.push(smallCorpus());
  for (const corpus of corpora) {
    const entries = countEntries(corpus.path);
    for (const where of (['tmpfs', 'disk'] as const).filter((w) => !ONLY_FS || w === ONLY_FS)) {
      let src = corpus.path;
      if (where === 'tmpfs') {
        src = join(outDir, 'src');
        rmSync(src, { recursive: true, force: true });
        execFileSync('cp', ['-a', corpus.path, src]);
      }
      const out = join(outDir, 'out.tar');
      const gnu: Run[] = [];
      const ovl: Run[] = [];
      const ovlFile: Run[] = [];
      const ovlFileTuned: Run[] = [];
      const ovlFileWarm: Run[] = [];
      const ovlRun = (mode: string, runs: Run[], tune = false, warm = false) => {
        const cmd = [process.execPath, child, src, out, mode];
        // OVL_BENCH_TUNE: the process tuned as the `ovl` command tunes its own (tuneProcess).
        // OVL_BENCH_WARM: a process that has diffed the tree three times before, untimed (a daemon's).
        const env = [...(tune ? ['OVL_BENCH_TUNE=1'] : []), ...(warm ? ['OVL_BENCH_WARM=3'] : [])];
        const o = timed(env.length ? ['env', ...env, ...cmd] : cmd, (stdout) => JSON.parse(stdout));
        o.bytes = statSync(out).size;
        runs.push(o);
        rmSync(out);
      };
      for (let round = 0; round < ROUNDS; round++) {
        // The tools alternate round by round, so load from other processes hits them alike.
        const g = timed(['tar', '--xattrs', '--xattrs-include=*', '-cf', out, '-C', src, '.']);
        g.bytes = statSync(out).size;
        gnu.push(g);
        rmSync(out);
        ovlRun('stream', ovl);
        ovlRun('file', ovlFile);
        ovlRun('file', ovlFileTuned, true);
        ovlRun('file', ovlFileWarm, false, true);
      }
      const row = (tool: string, runs: Run[], ratio: string) => {
        const t = median(runs.map((r) => r.seconds));
        const cpu = median(runs.map((r) => r.cpu));
        const mb = runs[0]!.bytes / 1e6;
        const rss = median(runs.map((r) => r.rssMiB)).toFixed(0);
        const rate = Math.round(entries / t).toLocaleString('en');
        return `| ${corpus.label} | ${where} | ${tool} | ${t.toFixed(2)} s | ${cpu.toFixed(2)} s | ${(mb / t).toFixed(0)} MB/s | ${rate} | ${rss} MiB | ${ratio} |`;
      };
      const ratioOf = (runs: Run[], k: 'seconds' | 'cpu') =>
        (median(runs.map((r) => r[k])) / median(gnu.map((r) => r[k]))).toFixed(2);
      const ratios = (runs: Run[]) => `${ratioOf(runs, 'seconds')}× / ${ratioOf(runs, 'cpu')}×`;
      rows.push(row('GNU tar -c', gnu, '1.00× / 1.00×'));
      rows.push(row('ovl diff → WriteStream', ovl, ratios(ovl)));
      rows.push(row('ovl diffToFile', ovlFile, ratios(ovlFile)));
      rows.push(row('ovl diffToFile, tuned', ovlFileTuned, ratios(ovlFileTuned)));
      rows.push(row('ovl diffToFile, warm process', ovlFileWarm, ratios(ovlFileWarm)));
      if (
        !labels.includes(
          `${corpus.label}: ${entries.toLocaleString('en')} entries, ${(gnu[0]!.bytes / 1e6).toFixed(0)} MB of tar`,
        )
      )
        labels.push(
          `${corpus.label}: ${entries.toLocaleString('en')} entries, ${(gnu[0]!.bytes / 1e6).toFixed(0)} MB of tar`,
        );
      console.error(rows.slice(-5).join('\n'));
      if (where === 'tmpfs') rmSync(src, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
console.log(
  `\n${ROUNDS} rounds, medians, ${new Date().toISOString()}, load average ${loadAtStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}; ${labels.join('; ')}.`,
);
console.log(
  '| corpus | source on | tool | wall | CPU | throughput | entries/s | peak RSS | vs GNU tar (wall / CPU) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
