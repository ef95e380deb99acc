// diffToFile: the same bytes as diff(), written to a path or a descriptor; and the in-place ustar
// header encoder, block for block equal to tar-stream's.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { lsetxattr } from '@ovl/syscall';
import tarStream from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ContentReader, readBatch } from '../src/diff/content-reader.js';
import { writeUstarHeader } from '../src/diff/ustar-header.js';
import { diff, diffToFile, type TarError } from '../src/index.js';
import { collect, describeTree, readTar, richTree, rmTree, run, tempDir } from './diff-helpers.js';

const file = suite('diffToFile');
const isRoot = process.getuid?.() === 0;
let tree = '';
let out = '';
let streamed: Buffer = Buffer.alloc(0);

file.before(async () => {
  tree = tempDir('dtf-tree');
  out = tempDir('dtf-out');
  richTree(tree, 'forward');
  streamed = await collect(diff({ upper: tree }));
});
file.after(() => {
  rmTree(tree);
  rmTree(out);
});

file('to a path: the bytes diff() streams; GNU tar extracts the same tree back', async () => {
  const layer = join(out, 'layer.tar');
  writeFileSync(layer, 'old content, to be truncated'.repeat(100_000));
  const seen: number[] = [];
  const r = await diffToFile({ upper: tree }, layer, { onProgress: (p) => seen.push(p.entries) });
  const bytes = readFileSync(layer);
  assert.ok(bytes.equals(streamed), 'byte-identical to the stream');
  assert.is(r.bytes, bytes.length);
  assert.is(r.entries, (await readTar(streamed)).length);
  assert.is(seen.at(-1), r.entries);
  const x = tempDir('dtf-x');
  try {
    run('tar', [
      '--xattrs',
      '--xattrs-include=*',
      '--numeric-owner',
      '--warning=no-timestamp',
      '-xpf',
      layer,
      '-C',
      x,
    ]);
    assert.equal(describeTree(x, { mtimes: true }), describeTree(tree, { mtimes: true }));
  } finally {
    rmTree(x);
  }
});

file('to a descriptor: written at its position, left open', async () => {
  const layer = join(out, 'fd.tar');
  const fd = openSync(layer, 'w');
  try {
    writeSync(fd, 'PREFIX');
    await diffToFile({ upper: tree }, fd);
    writeSync(fd, 'SUFFIX'); // still open, positioned after the tar
  } finally {
    closeSync(fd);
  }
  const bytes = readFileSync(layer);
  assert.is(bytes.subarray(0, 6).toString(), 'PREFIX');
  assert.ok(bytes.subarray(6, 6 + streamed.length).equals(streamed));
  assert.is(bytes.subarray(6 + streamed.length).toString(), 'SUFFIX');
});

file('to a pipe this very process reads: written in the background, so it cannot deadlock', () => {
  // A regular file is written synchronously; a pipe must not be: once it is full, a synchronous write
  // would wait for a reader that needs this event loop. Run in a child with a timeout, so that such a
  // hang fails the test instead of stopping the suite. The tree's 2.5 MiB file fills the pipe many times.
  const script = join(out, 'pipe-child.mts');
  const fifo = join(out, 'fifo');
  run('mkfifo', [fifo]);
  const index = join(import.meta.dirname, '../src/index.ts');
  writeFileSync(
    script,
    `import { openSync, closeSync, promises } from 'node:fs';
     import { diffToFile } from ${JSON.stringify(index)};
     const reading = promises.open(${JSON.stringify(fifo)}, 'r'); // blocks on the pool until a writer opens
     const w = openSync(${JSON.stringify(fifo)}, 'w');
     const chunks = [];
     const done = new Promise((resolve, reject) =>
       reading.then((h) => h.createReadStream().on('data', (c) => chunks.push(c)).on('end', resolve).on('error', reject)));
     const r = await diffToFile({ upper: ${JSON.stringify(tree)} }, w);
     closeSync(w);
     await done;
     const got = Buffer.concat(chunks);
     process.stdout.write(JSON.stringify({ bytes: r.bytes, got: got.length, hex: got.toString('base64') }));`,
  );
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  assert.is(child.signal, null, `the child hung writing to the pipe (killed by ${child.signal})`);
  assert.is(child.status, 0, child.stderr);
  const r = JSON.parse(child.stdout) as { bytes: number; got: number; hex: string };
  assert.is(r.got, streamed.length);
  assert.is(r.bytes, streamed.length);
  assert.ok(Buffer.from(r.hex, 'base64').equals(streamed), 'the bytes diff() streams');
});

file('a full file system rejects with ENOSPC, to a regular file and to a device', async () => {
  // The two ways out: synchronous writes (a regular file) and background ones (/dev/full).
  const devFull = await diffToFile({ upper: tree }, '/dev/full').catch((e: unknown) => e);
  assert.is((devFull as NodeJS.ErrnoException).code, 'ENOSPC', String(devFull));
  if (!isRoot) return console.log('  skipped (regular file): mounting a small tmpfs needs root');
  const small = join(out, 'small-fs');
  mkdirSync(small);
  run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'ovl-test', small]);
  try {
    const err = await diffToFile({ upper: tree }, join(small, 'layer.tar')).catch((e: unknown) => e);
    assert.is((err as NodeJS.ErrnoException).code, 'ENOSPC', String(err));
  } finally {
    run('umount', [small]);
  }
});

file('a missing source rejects with ERR_OVL_BAD_SOURCE', async () => {
  const err = await diffToFile({ upper: join(out, 'nope') }, join(out, 'x.tar')).catch((e: unknown) => e);
  assert.is((err as TarError).code, 'ERR_OVL_BAD_SOURCE');
});

file(
  'thousands of files (read on the worker thread): diff() and diffToFile() agree, GNU tar extracts the tree',
  async () => {
    const many = tempDir('dtf-many');
    try {
      // 3,000 files over 12 batches, the sizes chosen so that content crosses every buffer boundary.
      let seed = 7;
      for (let d = 0; d < 10; d++) {
        const dir = join(many, `d${d}`);
        mkdirSync(dir);
        for (let f = 0; f < 300; f++) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          writeFileSync(join(dir, `f${f}`), Buffer.alloc(seed % 9000, (d * 300 + f) & 0xff));
          // Some with xattrs, among the files whose content the worker reads.
          if (f % 97 === 3) lsetxattr(join(dir, `f${f}`), 'user.note', `file ${d}/${f}`);
        }
      }
      writeFileSync(join(many, 'big'), Buffer.alloc(3 << 20, 7)); // read on the main thread, in order
      lsetxattr(join(many, 'big'), 'user.big', 'a big one');
      const a = await collect(diff({ upper: many }));
      const layer = join(out, 'many.tar');
      const r = await diffToFile({ upper: many }, layer);
      assert.ok(readFileSync(layer).equals(a), 'stream and file agree');
      assert.is(r.entries, 3011);
      const x = tempDir('dtf-many-x');
      try {
        run('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-xpf', layer, '-C', x]);
        const want = describeTree(many, { mtimes: true });
        assert.equal(describeTree(x, { mtimes: true }), want);
        assert.is(want.filter((line) => line.includes('user.note=')).length, 40, 'xattrs to compare');
        const f3 = (await readTar(readFileSync(layer))).find((e) => e.name === 'd0/f3');
        assert.is(f3?.pax?.['SCHILY.xattr.user.note'], 'file 0/3');
      } finally {
        rmTree(x);
      }
    } finally {
      rmTree(many);
    }
  },
);

file(
  'readBatch: exact sizes, zeros for a file that shrank, errors per file (the rest still read)',
  async () => {
    writeFileSync(join(out, 'a'), 'abc');
    writeFileSync(join(out, 'short'), 'xy');
    const req = { paths: [join(out, 'a'), join(out, 'gone'), join(out, 'short')], sizes: [3, 4, 5] };
    for (const r of [readBatch(req), await viaWorker(req)]) {
      assert.equal([...new Uint8Array(r.data, 0, 12)], [...Buffer.from('abc\0\0\0\0xy\0\0\0')]);
      assert.equal(
        r.errors.map((e) => [e.index, e.code]),
        [[1, 'ENOENT']],
      );
    }
  },
);

file("the content reader's worker runs under --input-type=module and with V8 options", async () => {
  // Its source is eval'd; under --input-type=module that once made it a module without `require`, and
  // the reads fell back to the main thread without a word. Here `failed` tells whether they did.
  const dir = tempDir('reader-flags');
  try {
    writeFileSync(join(dir, 'a'), 'content of a');
    const script = `
      import { ContentReader } from ${JSON.stringify(join(import.meta.dirname, '../src/diff/content-reader.ts'))};
      const reader = new ContentReader();
      const r = await reader.read({ paths: [${JSON.stringify(join(dir, 'a'))}], sizes: [12] });
      console.log(JSON.stringify({ text: Buffer.from(r.data, 0, 12).toString(), fellBack: reader.failed }));
      reader.close();`;
    for (const flags of [['--input-type=module'], ['--input-type=module', '--max-old-space-size=4096']]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', ...flags, '-e', script], {
        encoding: 'utf8',
        cwd: join(import.meta.dirname, '..'),
      });
      assert.is(r.status, 0, r.stderr);
      assert.equal(
        JSON.parse(r.stdout.trim().split('\n').at(-1)!),
        { text: 'content of a', fellBack: false },
        `${flags}`,
      );
    }
  } finally {
    rmTree(dir);
  }
});

async function viaWorker(req: { paths: string[]; sizes: number[] }) {
  const reader = new ContentReader();
  try {
    return await reader.read(req);
  } finally {
    reader.close();
  }
}

file.run();

const header = suite('ustar header encoder');

type PackFields = Partial<tarStream.Header> & { name: string };

/** The first 512-byte block tar-stream's pack writes for `h`. */
async function packHeader(h: PackFields): Promise<Buffer> {
  const p = tarStream.pack();
  const done = collect(p as never);
  const full = { uname: '', gname: '', ...h } as tarStream.Header;
  await new Promise<void>((resolve, reject) =>
    h.type === 'file'
      ? p.entry(full, Buffer.alloc(h.size ?? 0), (e) => (e ? reject(e) : resolve()))
      : p.entry(full, (e) => (e ? reject(e) : resolve())),
  );
  p.finalize();
  return (await done).subarray(0, 512);
}

header('every field as tar-stream writes it', async () => {
  const mtime = new Date(1_700_000_123_000);
  const cases: PackFields[] = [
    { name: 'etc/passwd', type: 'file', mode: 0o100644, uid: 0, gid: 0, size: 1234, mtime },
    { name: 'usr/bin/su', type: 'file', mode: 0o104755, uid: 2_097_151, gid: 42, size: 0, mtime },
    { name: 'var/', type: 'directory', mode: 0o101777, uid: 1, gid: 2, size: 0, mtime },
    { name: 'bin', type: 'symlink', mode: 0o100777, linkname: 'usr/bin', size: 0, mtime },
    { name: 'b', type: 'link', mode: 0o100644, linkname: 'a'.repeat(100), size: 0, mtime },
    { name: 'dev/sda', type: 'block-device', mode: 0o100660, devmajor: 8, devminor: 255, size: 0, mtime },
    { name: 'dev/null', type: 'character-device', mode: 0o100666, devmajor: 1, devminor: 3, size: 0, mtime },
    { name: 'run/fifo', type: 'fifo', mode: 0o100600, size: 0, mtime },
    {
      name: `${'p'.repeat(60)}/${'q'.repeat(60)}/${'r'.repeat(90)}`,
      type: 'file',
      mode: 0o100600,
      size: 7,
      mtime,
    },
    {
      // tar-stream truncates times to 32 bits, so the widest both agree on; a big size would need the bytes
      name: 'late',
      type: 'file',
      mode: 0o100644,
      size: 513,
      mtime: new Date(0o17777777777 * 1000),
    },
  ];
  for (const h of cases) {
    const want = await packHeader(h);
    const got = Buffer.alloc(512 + 16, 0xaa); // garbage around it: the block must be written in full
    const ok = writeUstarHeader(got, 8, {
      name: h.name,
      type: h.type!,
      mode: h.mode!,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      size: h.size ?? 0,
      mtime: Math.floor(h.mtime!.getTime() / 1000),
      linkname: h.linkname ?? undefined,
      devmajor: h.devmajor ?? 0,
      devminor: h.devminor ?? 0,
    });
    assert.ok(ok, h.name);
    assert.equal([...got.subarray(8, 520)], [...want], h.name);
    assert.is(got[7], 0xaa);
    assert.is(got[520], 0xaa);
  }
});

header('names ustar cannot hold are refused (PAX carries them)', () => {
  const buf = Buffer.alloc(512);
  const base = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, devmajor: 0, devminor: 0 };
  assert.not.ok(writeUstarHeader(buf, 0, { ...base, name: 'x'.repeat(101) }));
  assert.not.ok(writeUstarHeader(buf, 0, { ...base, name: `${'d'.repeat(156)}/f` }));
  assert.not.ok(writeUstarHeader(buf, 0, { ...base, name: 'l', linkname: 't'.repeat(101) }));
});

header('sizes of 8 GiB and more in base-256, as tar-stream and GNU tar write them', () => {
  const buf = Buffer.alloc(512);
  const base = { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, devmajor: 0, devminor: 0 };
  assert.ok(writeUstarHeader(buf, 0, { ...base, size: 2 ** 33 + 5 }));
  assert.equal([...buf.subarray(124, 136)], [0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5]);
});

header.run();
