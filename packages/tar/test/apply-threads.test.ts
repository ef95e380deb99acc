// apply with writer threads (threads: n): the same tree as on one thread, whatever the layer does to
// the files the threads are still creating; failures named by entry; the pool reused afterwards.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIG_BODY } from '../src/apply/entry.js';
import { PathClaims } from '../src/apply/path-claims.js';
import { WriteThreads } from '../src/apply/write-threads.js';
import { apply, isTarError, type TarError } from '../src/index.js';
import { buildTar, streamOf, type TestEntry } from './fixtures/layer-tar.js';
import { describeTree, diffTrees, removeDir, tempDir } from './fixtures/tree.js';

const isRoot = process.getuid?.() === 0;
const Threads = suite('apply: writer threads');
let dirs: string[] = [];
const fresh = (name: string) => {
  const d = tempDir(name);
  dirs.push(d);
  return d;
};
Threads.after.each(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

/**
 * Many small files (so the threads take most of them) and, among them, everything that has to meet a
 * file a thread may not have created yet: duplicates, a file replaced by a dir and the reverse,
 * hardlinks to thread-written files, a symlinked dir, whiteouts and an opaque dir, setuid and owners,
 * a body of several records and a big one.
 */
function mixedLayer(): TestEntry[] {
  const e: TestEntry[] = [];
  for (let d = 0; d < 12; d++) {
    e.push({ name: `d${d}/`, type: 'directory', mode: 0o755 });
    for (let f = 0; f < 150; f++) {
      e.push({
        name: `d${d}/f${f}`,
        content: `file ${d}/${f} `.repeat((f % 7) + 1),
        mode: f % 5 ? 0o644 : 0o600,
      });
    }
  }
  e.push(
    { name: 'd0/f1', content: 'the later entry wins' },
    { name: 'd0/f2/', type: 'directory', mode: 0o700 },
    { name: 'd0/f2/inside', content: 'a dir replaced the file' },
    { name: 'd1/', type: 'directory', mode: 0o750 },
    { name: 'd2', content: 'a file replaced the whole dir' },
    { name: 'd3/hard', type: 'link', linkname: 'd3/f10' },
    { name: 'd4/f5', type: 'link', linkname: 'd4/f6' },
    { name: 'via', type: 'symlink', linkname: 'd5' },
    { name: 'via/through-link', content: 'lands in d5' },
    { name: 'd6/.wh.f7', content: '' },
    { name: 'd7/.wh..wh..opq', content: '' },
    { name: 'd8/su', content: 'ELF', mode: 0o4755 },
    { name: 'd8/owned', content: 'x', uid: 1000, gid: 100 },
    { name: 'd8/sticky', content: 'x', mode: 0o1644 },
    { name: 'd9/medium', content: Buffer.alloc(700 << 10, 0x61) },
    { name: 'd9/big', content: Buffer.alloc(3 << 20, 0x62) },
    { name: 'd9/empty', content: '' },
    { name: 'd10/f3/under-a-file', content: 'the parent is a file: refused' },
  );
  return e;
}

async function applyBoth(
  entries: TestEntry[],
  format: 'flatten' | 'overlay' | 'aufs',
  setup?: (d: string) => void,
) {
  const tar = await buildTar(entries);
  const out: Array<{ dir: string; threaded: number; error?: TarError }> = [];
  for (const threads of [0, 2]) {
    const dir = fresh(`threads-${threads}`);
    setup?.(dir);
    const layer = join(fresh('layer'), 'layer.tar');
    writeFileSync(layer, tar);
    try {
      const r = await apply(threads ? layer : streamOf(tar, 50_000), dir, { format, threads });
      out.push({ dir, threaded: r.threadedFiles });
    } catch (err) {
      out.push({ dir, threaded: -1, error: err as TarError });
    }
  }
  return out;
}

for (const format of ['flatten', 'overlay', 'aufs'] as const) {
  Threads(`'${format}': the tree is the one a single thread makes`, async () => {
    const [one, two] = await applyBoth(mixedLayer().slice(0, -1), format);
    assert.is(one!.error, undefined);
    assert.is(two!.error, undefined);
    const diffs = diffTrees(
      describeTree(two!.dir, { mtimes: true, skipRootMeta: true }),
      describeTree(one!.dir, { mtimes: true, skipRootMeta: true }),
    );
    assert.equal(diffs, []);
  });
}

Threads(
  'most small files go to the threads; none with threads: 0; a failing entry fails the same',
  async () => {
    // The last entry fails (a file in the way of a dir) on both; dir times are never set then.
    const [one, two] = await applyBoth(mixedLayer(), 'flatten');
    assert.ok(isTarError(one!.error, 'ERR_OVL_WRITE_FAILED'), `one thread: ${one!.error}`);
    assert.ok(isTarError(two!.error, 'ERR_OVL_WRITE_FAILED'), `two threads: ${two!.error}`);
    assert.is(two!.error!.entry, 'd10/f3/under-a-file');
    assert.equal(diffTrees(describeTree(two!.dir), describeTree(one!.dir)), []);
    const [single, threaded] = await applyBoth(mixedLayer().slice(0, -1), 'flatten');
    assert.is(single!.threaded, 0);
    assert.ok(threaded!.threaded > 1500, `threaded files: ${threaded!.threaded}`);
  },
);

Threads('a claim lookup that always says "claimed" (a hash collision) changes where, not what', async () => {
  // PathClaims may answer "claimed" for a path never added; every caller must then take the slow road
  // (wait for the threads, write on the calling thread) and still make the same tree.
  const [single] = await applyBoth(mixedLayer().slice(0, -1), 'flatten');
  const has = PathClaims.prototype.has;
  PathClaims.prototype.has = () => true;
  let colliding: Awaited<ReturnType<typeof applyBoth>>;
  try {
    colliding = await applyBoth(mixedLayer().slice(0, -1), 'flatten');
  } finally {
    PathClaims.prototype.has = has;
  }
  const threaded = colliding[1]!;
  assert.is(threaded.error, undefined);
  assert.is(threaded.threaded, 0);
  const diffs = diffTrees(
    describeTree(threaded.dir, { mtimes: true, skipRootMeta: true }),
    describeTree(single!.dir, { mtimes: true, skipRootMeta: true }),
  );
  assert.equal(diffs, []);
});

Threads(
  "'flatten' onto a tree from earlier layers: whiteouts and replacements meet thread-written files",
  async () => {
    const lower = (d: string) => {
      for (let i = 0; i < 5; i++) {
        mkdirSync(join(d, `d${i}`), { recursive: true });
        for (let f = 0; f < 20; f++) {
          writeFileSync(join(d, `d${i}`, `old${f}`), 'old');
          utimesSync(join(d, `d${i}`, `old${f}`), 1e9, 1e9);
        }
        utimesSync(join(d, `d${i}`), 1e9, 1e9);
      }
      writeFileSync(join(d, 'd6'), 'a file where the layer has a dir');
      utimesSync(join(d, 'd6'), 1e9, 1e9);
    };
    const entries: TestEntry[] = [
      ...mixedLayer().slice(0, -1),
      { name: 'd0/.wh..wh..opq', content: '' },
      { name: '.wh.d1', content: '' },
    ];
    const [one, two] = await applyBoth(entries, 'flatten', lower);
    assert.is(one!.error, undefined);
    assert.is(two!.error, undefined);
    assert.equal(
      diffTrees(
        describeTree(two!.dir, { mtimes: true, skipRootMeta: true }),
        describeTree(one!.dir, { mtimes: true, skipRootMeta: true }),
      ),
      [],
    );
  },
);

Threads('a write that fails in a thread names its entry; the next apply reuses the threads', async () => {
  if (!isRoot) return console.log('  skipped: mounting a small tmpfs needs root');
  const small = fresh('enospc');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
  if (r.status !== 0) return console.log(`  skipped: cannot mount tmpfs (${r.stderr})`);
  try {
    const entries: TestEntry[] = [{ name: 'd/', type: 'directory' }];
    for (let i = 0; i < 400; i++) entries.push({ name: `d/f${i}`, content: Buffer.alloc(8192, 1) });
    const tar = await buildTar(entries);
    const err = await apply(streamOf(tar), small, { threads: 2 }).then(
      () => undefined,
      (e: TarError) => e,
    );
    assert.ok(isTarError(err, 'ERR_OVL_WRITE_FAILED'), String(err));
    assert.match(err!.entry ?? '', /^d\/f\d+$/);
    assert.is((err!.cause as { code?: string }).code, 'ENOSPC');
    assert.match(err!.message, /ENOSPC/);
  } finally {
    spawnSync('umount', [small]);
  }
  const again = fresh('after-failure');
  const entries: TestEntry[] = [{ name: 'x/', type: 'directory' }];
  for (let i = 0; i < 300; i++) entries.push({ name: `x/f${i}`, content: `${i}` });
  const res = await apply(streamOf(await buildTar(entries)), again, { threads: 2 });
  assert.ok(res.threadedFiles > 250, `threaded after a failure: ${res.threadedFiles}`);
  assert.is(Object.keys(describeTree(again)).length, 302);
});

Threads('abort while threads write: ERR_OVL_ABORTED, no hang, threads usable after', async () => {
  const entries: TestEntry[] = [];
  for (let i = 0; i < 4000; i++) entries.push({ name: `a${i % 40}/f${i}`, content: 'y'.repeat(100) });
  const tar = await buildTar(entries);
  const ac = new AbortController();
  let seen = 0;
  const err = await apply(streamOf(tar, 4096), fresh('abort'), {
    threads: 2,
    signal: ac.signal,
    onProgress: (p) => {
      if (p.entries > 1500 && seen++ === 0) ac.abort(new Error('stop'));
    },
  }).then(
    () => undefined,
    (e: TarError) => e,
  );
  assert.ok(isTarError(err, 'ERR_OVL_ABORTED'), String(err));
  const r = await apply(streamOf(tar), fresh('after-abort'), { threads: 2 });
  assert.is(r.entries, 4000);
  assert.ok(r.threadedFiles > 3000);
});

Threads(
  'big bodies of a layer file go to idle threads unasked; small files then stay on this one',
  async () => {
    // 12 bodies of 9 MiB, each with its own bytes, between small files: threads start at the first
    // big body and take big bodies only. The pool is warmed first (a cold start may outlast the copies).
    const warm = await buildTar([{ name: 'warm', content: 'x' }]);
    await apply(streamOf(warm), fresh('warm'), { threads: 2 });
    const entries: TestEntry[] = [{ name: 'big/', type: 'directory' }];
    for (let i = 0; i < 12; i++) {
      entries.push({ name: `big/small${i}`, content: `small ${i}` });
      const body = Buffer.alloc(9 << 20, i + 1);
      body.write(`head of ${i}`, 0);
      body.write(`tail of ${i}`, body.length - 20);
      entries.push({
        name: `big/f${i}`,
        content: body,
        mode: i % 2 ? 0o640 : 0o4755,
        uid: 1000 + i,
        gid: 100,
      });
    }
    const layer = join(fresh('big-layer'), 'layer.tar');
    writeFileSync(layer, await buildTar(entries));
    const dir = fresh('big-out');
    const r = await apply(layer, dir);
    assert.ok(r.threadedFiles >= 1 && r.threadedFiles <= 12, `threaded files: ${r.threadedFiles}`);
    for (let i = 0; i < 12; i++) {
      const got = readFileSync(join(dir, `big/f${i}`));
      const want = entries[2 + 2 * i]!.content as Buffer;
      assert.ok(got.equals(want), `big/f${i}: ${got.length} bytes, head ${got.subarray(0, 10)}`);
      const st = statSync(join(dir, `big/f${i}`));
      assert.is(st.mode & 0o7777, i % 2 ? 0o640 : 0o4755, `big/f${i} mode`);
      if (isRoot) assert.is(st.uid, 1000 + i);
      assert.is(readFileSync(join(dir, `big/small${i}`), 'utf8'), `small ${i}`);
    }
  },
);

Threads('the built package starts its threads from `node -e` (ESM and CJS)', async () => {
  const dist = join(import.meta.dirname, '../dist');
  if (!existsSync(join(dist, 'index.js'))) return console.log('  skipped: dist not built (pnpm build)');
  const entries: TestEntry[] = [{ name: 'x/', type: 'directory' }];
  for (let i = 0; i < 300; i++) entries.push({ name: `x/f${i}`, content: `${i}` });
  const layer = join(fresh('eval-layer'), 'layer.tar');
  writeFileSync(layer, await buildTar(entries));
  for (const [flags, load] of [
    [[], `import(${JSON.stringify(join(dist, 'index.js'))})`],
    [[], `Promise.resolve(require(${JSON.stringify(join(dist, 'index.cjs'))}))`],
    // The workers inherit the process's options; this one once made them read their CommonJS source
    // as a module (`require` undefined), and no file was threaded.
    [['--input-type=module'], `import(${JSON.stringify(join(dist, 'index.js'))})`],
    // V8 options are inherited too, but must not be handed to a worker in a list of one's own: the
    // first fix for the flag above did that, and then no thread started.
    [['--max-old-space-size=4096', '--stack-size=2000'], `import(${JSON.stringify(join(dist, 'index.js'))})`],
  ] as const) {
    // `node -e` has a global __filename ('[eval]'): the ESM build once took it for its own path.
    const out = fresh('eval-out');
    const script = `${load}.then((m) => m.apply(${JSON.stringify(layer)}, ${JSON.stringify(out)}, { threads: 2 })).then((r) => console.log(String(r.threadedFiles)), (e) => { console.error(e); process.exit(1); })`;
    const r = spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', cwd: '/' });
    assert.is(r.status, 0, r.stderr);
    assert.ok(Number(r.stdout.trim()) > 250, `${flags} ${load}: threaded ${r.stdout.trim()}`);
  }
});

Threads('a process that exits just as its writer thread starts waits for it, then exits 0', async () => {
  // koffi aborts the process (exit code 134) when a worker is torn down while it loads; without the
  // hold in write-threads.ts about one such exit in eight aborted. A big body starts a thread unasked;
  // the process then exits while the thread loads (at once, or after a few milliseconds).
  const layer = join(fresh('exit-layer'), 'layer.tar');
  // Two big bodies: threads start only for a big body that another one can still follow.
  const big = Buffer.alloc(BIG_BODY + 1, 7);
  writeFileSync(
    layer,
    await buildTar([
      { name: 'big', content: big },
      { name: 'big2', content: big },
    ]),
  );
  let exercised = 0;
  for (let i = 0; i < 8; i++) {
    const out = fresh('exit-out');
    const script = `
      import { apply } from ${JSON.stringify(join(import.meta.dirname, '../src/index.ts'))};
      import { threadsStarting } from ${JSON.stringify(join(import.meta.dirname, '../src/apply/write-threads.ts'))};
      await apply(${JSON.stringify(layer)}, ${JSON.stringify(out)});
      const atReturn = threadsStarting();
      process.on('exit', () => console.log(JSON.stringify({ atReturn, atExit: threadsStarting() })));
      const until = Date.now() + ${i * 4};
      while (Date.now() < until);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: join(import.meta.dirname, '..'),
    });
    assert.is(r.status, 0, `run ${i}: status ${r.status} ${r.signal ?? ''}\n${r.stderr.slice(0, 2000)}`);
    const seen = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { atReturn: number; atExit: number };
    assert.is(seen.atExit, 0, `run ${i}: a thread was still loading when the process exited`);
    if (seen.atReturn > 0) exercised++;
    assert.is(readFileSync(join(out, 'big')).length, BIG_BODY + 1);
  }
  assert.ok(exercised > 0, 'no run exited while its thread was still starting: the test proved nothing');
});

Threads('no threads start for a big body that no other big body can follow (they would idle)', async () => {
  // The threads would be ready only after this thread had copied the body, with nothing left for them;
  // starting them anyway held the process's exit ~100 ms (the rootfs layer ends so). A fresh process:
  // this one's pool is warm from the tests above.
  const big = Buffer.alloc(BIG_BODY + 1, 7);
  const small = Array.from({ length: 30 }, (_, i) => ({ name: `s${i}`, content: `small ${i}` }));
  const cases = [
    { name: 'big last', entries: [...small, { name: 'big', content: big }], threads: false },
    { name: 'big, then small files', entries: [{ name: 'big', content: big }, ...small], threads: false },
    {
      name: 'big, then another',
      entries: [
        { name: 'big', content: big },
        { name: 'big2', content: big },
      ],
      threads: true,
    },
  ];
  for (const c of cases) {
    const layer = join(fresh('late-layer'), 'layer.tar');
    writeFileSync(layer, await buildTar(c.entries));
    const out = fresh('late-out');
    const script = `
      import { apply } from ${JSON.stringify(join(import.meta.dirname, '../src/index.ts'))};
      import { threadsStarted } from ${JSON.stringify(join(import.meta.dirname, '../src/apply/write-threads.ts'))};
      await apply(${JSON.stringify(layer)}, ${JSON.stringify(out)});
      console.log(String(threadsStarted()));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: join(import.meta.dirname, '..'),
    });
    assert.is(r.status, 0, `${c.name}: ${r.stderr.slice(0, 2000)}`);
    const started = Number(r.stdout.trim().split('\n').at(-1));
    if (c.threads) assert.ok(started > 0, `${c.name}: threads should start`);
    else assert.is(started, 0, `${c.name}: threads started`);
    assert.ok(readFileSync(join(out, 'big')).equals(big), `${c.name}: the big body`);
  }
});

Threads(
  'a big body handed to a worker is copied at once, not when the calling thread next idles',
  async () => {
    // The calling thread goes on with the next entries synchronously (it may copy the next big body
    // itself, for 0.1 s); a copy left unpublished until it returns to its event loop waited that long.
    // Here the calling thread never returns to its loop until the copy is seen done (or 10 s pass).
    const dir = fresh('handoff');
    const src = join(dir, 'layer-body');
    writeFileSync(src, Buffer.alloc(BIG_BODY, 5));
    const out = join(dir, 'out');
    mkdirSync(out);
    const threads = WriteThreads.open(1);
    assert.ok(threads, 'no writer thread could start');
    await threads.whenReady();
    const fd = openSync(src, 'r');
    const meta = {
      uid: process.geteuid?.() ?? 0,
      gid: process.getegid?.() ?? 0,
      mode: 0o644,
      atime: 0,
      atimeNsec: 0,
      mtime: 0,
      mtimeNsec: 0,
      xattrs: undefined,
    };
    const w = threads.pick(out, true);
    threads.file(w, out, 'big', 'big', meta, 0, [], false);
    threads.data(w, 'big', meta, 0, new Uint8Array(0), true, { fd, from: 0, length: BIG_BODY });
    const file = join(out, 'big');
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 10_000;
    while (Date.now() < until && !(existsSync(file) && statSync(file).size === BIG_BODY))
      Atomics.wait(nap, 0, 0, 5);
    const seen = existsSync(file) ? statSync(file).size : -1;
    threads.end();
    closeSync(fd);
    assert.is(seen, BIG_BODY, 'the worker did not copy the body while the calling thread stayed busy');
    assert.ok(readFileSync(file).equals(Buffer.alloc(BIG_BODY, 5)));
  },
);

Threads('bodies of 16–256 KiB of a layer file are copied from it by the threads: bytes exact', async () => {
  // Random bytes, so that a copy from the wrong offset or of the wrong length cannot pass; sizes on
  // both sides of the range's limits, and a few small files between them.
  const sizes = [16 << 10, (16 << 10) - 1, (16 << 10) + 1, 100_000, (256 << 10) - 1, 256 << 10, 300_000];
  const entries: TestEntry[] = [{ name: 'r/', type: 'directory' }];
  const want = new Map<string, Buffer>();
  for (let i = 0; i < 40; i++) {
    const name = `r/f${i}`;
    const content = randomBytes(i % 3 === 2 ? 500 + i : sizes[i % sizes.length]!);
    want.set(name, content);
    entries.push({ name, content, mode: i % 2 ? 0o644 : 0o4755 });
  }
  const dir = fresh('range-layer');
  const layer = join(dir, 'layer.tar');
  const tar = await buildTar(entries);
  writeFileSync(layer, tar);
  const out = fresh('range-out');
  const r = await apply(layer, out, { threads: 2 });
  assert.ok(r.threadedFiles > 0, `threaded files: ${r.threadedFiles}`);
  for (const [name, content] of want) {
    const got = readFileSync(join(out, name));
    assert.ok(got.equals(content), `${name}: ${got.length} bytes, want ${content.length}`);
  }
  assert.is(statSync(join(out, 'r/f1')).mode & 0o7777, 0o644);
  assert.is(statSync(join(out, 'r/f0')).mode & 0o7777, 0o4755);
  // Cut inside the 100,000-byte body of r/f3: a clear error, not a short file copied by a thread.
  const cut = join(dir, 'cut.tar');
  const at = tar.indexOf(want.get('r/f3')!.subarray(0, 64));
  writeFileSync(cut, tar.subarray(0, at + 50_000));
  const err = await apply(cut, fresh('range-cut'), { threads: 2 }).then(
    () => undefined,
    (e: TarError) => e,
  );
  assert.ok(isTarError(err, 'ERR_OVL_BAD_TAR'), String(err));
});

Threads('the whole apply suite passes with writer threads forced (OVL_APPLY_THREADS=2)', () => {
  const require = createRequire(import.meta.url);
  const uvuBin = join(dirname(require.resolve('uvu')), '..', 'bin.js');
  const { OVL_TEST_RESULTS: _, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', uvuBin, 'test', '^apply-(entries|file|interop|safety|stream|whiteouts)\\.test\\.ts$'],
    { cwd: join(import.meta.dirname, '..'), env: { ...env, OVL_APPLY_THREADS: '2' }, encoding: 'utf8' },
  );
  const total = Number(r.stdout.match(/Total:\s+(\d+)/)?.[1] ?? 0);
  const passed = Number(r.stdout.match(/Passed:\s+(\d+)/)?.[1] ?? -1);
  assert.ok(total >= 60, `tests run: ${total}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  assert.is(passed, total, r.stdout.slice(-3000));
  assert.is(r.status, 0);
});

Threads.run();
