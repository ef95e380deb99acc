// Mount + umount cycles of an overlay with 1, 10, 100 and 500 lower layers: @ovl/syscall (runPlan
// and umount2) against spawning util-linux `mount` / `umount`, in the same run. Prints medians and
// the ratio. Runs the built package (dist/, as consumers do: no tsx in the mount helper). Needs root and overlayfs; prints why and exits 0 otherwise.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants as fsc,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MountPlan } from '@ovl/mountopts';
import {
  getPageSize,
  isMountpoint,
  MNT_DETACH,
  O_PATH,
  probeOverlayFeatures,
  runPlan,
  stopMountThread,
  umount2,
} from '../dist/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);

if (process.getuid?.() !== 0) {
  console.log('skip: needs root');
  process.exit(0);
}
if (!/\toverlay\n/.test(readFileSync('/proc/filesystems', 'utf8'))) {
  console.log('skip: overlay missing from /proc/filesystems');
  process.exit(0);
}

interface Stack {
  lowers: string[];
  upper: string;
  work: string;
  target: string;
}

function buildStack(base: string, n: number): Stack {
  const lowers: string[] = [];
  for (let k = n - 1; k >= 0; k--) {
    // short paths (~24 bytes), so that 100 layers still fit one page as absolute paths
    const dir = join(base, String(k));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${k}`), String(k));
    lowers.push(dir);
  }
  const s = { lowers, upper: join(base, 'u'), work: join(base, 'w'), target: join(base, 'm') };
  for (const d of [s.upper, s.work, s.target]) mkdirSync(d);
  return s;
}

const absoluteData = (s: Stack) => `lowerdir=${s.lowers.join(':')},upperdir=${s.upper},workdir=${s.work}`;
const fdData = (s: Stack, fd: (i: number) => string) =>
  `lowerdir=${s.lowers.map((_, i) => fd(i)).join(':')},upperdir=${s.upper},workdir=${s.work}`;

function planFor(kind: string, s: Stack): MountPlan {
  const base = { pageSize: getPageSize(), dataBytes: 0 };
  if (kind === 'absolute') {
    return { ...base, strategy: 'absolute', steps: [mountStep(s, absoluteData(s))] };
  }
  if (kind === 'fd-relative') {
    const step = {
      ...mountStep(
        s,
        fdData(s, (i) => `{{fd:${i}}}`),
      ),
      cwd: '/proc/self/fd',
      openDirs: s.lowers,
    };
    return { ...base, strategy: 'fd-relative', steps: [step] };
  }
  const params = [
    ...s.lowers.map((p) => ({ type: 'string' as const, key: 'lowerdir+', value: p })),
    { type: 'string' as const, key: 'upperdir', value: s.upper },
    { type: 'string' as const, key: 'workdir', value: s.work },
  ];
  return {
    ...base,
    strategy: 'fsconfig',
    steps: [{ kind: 'fsconfig', fstype: 'overlay', source: 'overlay', target: s.target, params }],
  };
}

function mountStep(s: Stack, data: string) {
  return { kind: 'mount' as const, source: 'overlay', target: s.target, fstype: 'overlay', flags: 0, data };
}

async function timeOvl(
  s: Stack,
  plan: MountPlan,
  isolation: 'thread' | 'process' = 'thread',
): Promise<number> {
  const t0 = performance.now();
  await runPlan(plan, { isolation });
  umount2(s.target);
  return performance.now() - t0;
}

function run(cmd: string, args: string[], opts: { cwd?: string; fds?: number[] } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: ['ignore', 'ignore', 'pipe', ...(opts.fds ?? [])],
    });
    let err = '';
    child.stderr?.on('data', (c) => {
      err += c;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${code}: ${err}`))));
  });
}

/** `mount -t overlay` + `umount`; with fds, the layers go in as descriptors 3… from cwd /proc/self/fd. */
async function timeCommand(s: Stack, viaFds: boolean): Promise<number> {
  const t0 = performance.now();
  if (viaFds) {
    const fds = s.lowers.map((p) => openSync(p, O_PATH | fsc.O_DIRECTORY));
    try {
      const data = fdData(s, (i) => String(3 + i));
      await run('mount', ['-t', 'overlay', 'overlay', '-o', data, s.target], { cwd: '/proc/self/fd', fds });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  } else {
    await run('mount', ['-t', 'overlay', 'overlay', '-o', absoluteData(s), s.target]);
  }
  await run('umount', [s.target]);
  return performance.now() - t0;
}

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};

async function rounds(f: () => Promise<number>): Promise<number> {
  await f(); // warm-up (starts the mount thread, fills caches)
  const xs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(await f());
  return median(xs);
}

const features = probeOverlayFeatures();
const rows: string[][] = [];
const base = mkdtempSync(join(tmpdir(), 'ovl-b'));
try {
  for (const n of [1, 10, 100, 500]) {
    const dir = join(base, String(n));
    const s = buildStack(dir, n);
    const fits = Buffer.byteLength(absoluteData(s)) < getPageSize();
    const cmd = await rounds(() => timeCommand(s, !fits));
    // 500 absolute paths do not fit mount(2)'s one page: the command gets the layers as inherited
    // descriptors named from cwd /proc/self/fd (the fd-relative trick), as @ovl/syscall can.
    const cmdLabel = fits
      ? 'mount -o lowerdir=<absolute>'
      : 'mount -o lowerdir=3:4:… (fds from cwd /proc/self/fd: absolute paths do not fit a page)';
    const add = (label: string, ms: number) =>
      rows.push([String(n), label, ms.toFixed(2), cmd.toFixed(2), cmdLabel, (cmd / ms).toFixed(1)]);
    if (fits) add('absolute (in-process)', await rounds(() => timeOvl(s, planFor('absolute', s))));
    add('fd-relative (mount thread)', await rounds(() => timeOvl(s, planFor('fd-relative', s))));
    if (features.lowerdirPlus)
      add('fsconfig lowerdir+', await rounds(() => timeOvl(s, planFor('fsconfig', s))));
    if (n === 1 || n === 500) {
      add(
        'fd-relative (child process)',
        await rounds(() => timeOvl(s, planFor('fd-relative', s), 'process')),
      );
    }
    if (isMountpoint(s.target)) umount2(s.target, MNT_DETACH);
  }
} finally {
  await stopMountThread();
  rmSync(base, { recursive: true, force: true });
}

const header = ['layers', '@ovl/syscall strategy', 'ovl ms', 'mount+umount ms', 'command form', 'ratio'];
console.log(
  `overlay mount + umount, median of ${ROUNDS} rounds (after one warm-up), page size ${getPageSize()}`,
);
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\nutil-linux: ${spawnSync('mount', ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
