// apply from a layer file, by path and by descriptor: the synchronous file feed, big bodies copied file
// to file past the parser, truncation, compressed files, the descriptor left as it was, and the fchown
// that is skipped only when the new file already has the entry's owner.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { lsetxattr, makedev, mknod, sendFileAt } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ApplySyscalls, apply, applyWith, type TarError } from '../src/index.js';
import { buildTar, streamOf, type TestEntry } from './fixtures/layer-tar.js';
import { describeTree, diffTrees, removeDir, tempDir } from './fixtures/tree.js';

const isRoot = process.getuid?.() === 0;
const MiB = 1 << 20;

/** Deterministic bytes that differ at every offset modulo 251, so a shifted copy cannot pass. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + seed) % 251;
  return b;
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

const big = pattern(3 * MiB + 123, 1); // most of it bypasses the parser
const straddling = pattern(700 * 1024, 2); // placed so that it spans the first 1 MiB read boundary
const small = pattern(5000, 3);

function layerEntries(): TestEntry[] {
  // Each dir's entries right after it, as in real layers (GNU tar sets a dir's time when it leaves it),
  // and every parent has its own entry (a dir made only as a parent gets the time of the apply).
  const e: TestEntry[] = [
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/small', content: small, mode: 0o640, uid: 1000, gid: 100 },
    { name: 'etc/pad', content: pattern(500 * 1024, 4) },
    { name: 'etc/straddling', content: straddling, mode: 0o600 },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/', type: 'directory', mode: 0o711 },
    { name: 'usr/bin/su', content: big, mode: 0o4755, pax: { mtime: '1614834367.123456' } },
    { name: 'usr/bin/su-link', type: 'link', linkname: 'usr/bin/su' },
    { name: 'shared/', type: 'directory', mode: 0o2775, gid: 50 },
    { name: 'shared/f', content: 'x', gid: 0 },
    { name: 'empty', content: '' },
    { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
    { name: 'run/', type: 'directory' },
    { name: 'run/fifo', type: 'fifo', mode: 0o620 },
    { name: 'tagged', content: 'y', pax: { 'SCHILY.xattr.user.color': 'blue' } },
  ];
  if (isRoot) {
    e.push({ name: 'dev/', type: 'directory' });
    e.push({ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 });
  }
  return e;
}

let dir = '';
const File = suite('apply: from a layer file (path or descriptor)');
File.before.each(() => {
  dir = tempDir('file');
});
File.after.each(() => removeDir(dir));

/** What GNU tar makes of the same layer: an independent reference for the whole tree. */
function gnuTree(layer: string): ReturnType<typeof describeTree> {
  const out = join(dir, 'gnu');
  mkdirSync(out);
  const owners = isRoot ? ['--same-owner', '--numeric-owner'] : [];
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xpf', layer, '-C', out, ...owners]);
  return describeTree(out, { mtimes: true, skipRootMeta: true });
}

File(
  'by path and by descriptor, the tree equals GNU tar’s: bytes, modes, owners, xattrs, links',
  async () => {
    const tar = await buildTar(layerEntries());
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, tar);
    const want = gnuTree(layer);

    const byPath = join(dir, 'by-path');
    mkdirSync(byPath);
    const r = await apply(layer, byPath);
    assert.is(r.compression, 'none');
    assert.is(r.bytes, tar.length, 'every byte of the file is counted, bypassed bodies included');
    assert.is(r.contentBytes, big.length + straddling.length + small.length + 500 * 1024 + 2);
    const got = describeTree(byPath, { mtimes: true, skipRootMeta: true });
    assert.equal(diffTrees(got, want), []);

    // The comparison is only as good as its reference: spot-check the reference against the entries.
    assert.is(got['usr/bin/su']!.sha, sha(big));
    assert.is(got['usr/bin/su']!.mode, '4755');
    assert.is(got['usr/bin/su']!.mtime, '1614834367123456000');
    assert.is(got['usr/bin/su-link']!.group, 'usr/bin/su');
    assert.is(got['etc/straddling']!.sha, sha(straddling));
    assert.is(got['etc/small']!.sha, sha(small));
    assert.is(got.shared!.mode, '2775');
    assert.is(got.bin!.link, 'usr/bin');
    assert.is(got['run/fifo']!.type, 'fifo');
    if (got.tagged!.xattrs) assert.is(got.tagged!.xattrs['user.color'], Buffer.from('blue').toString('hex'));
    else console.log('  (this file system refuses user xattrs: not compared)');
    if (isRoot) {
      assert.is(got['etc/small']!.uid, 1000);
      assert.is(got['etc/small']!.gid, 100);
      assert.is(got['shared/f']!.gid, 0);
      assert.is(got['dev/null']!.rdev, makedev(1, 3));
    }

    const byFd = join(dir, 'by-fd');
    mkdirSync(byFd);
    const fd = openSync(layer, 'r');
    try {
      const r2 = await apply(fd, byFd);
      assert.is(r2.bytes, tar.length);
      // The descriptor is still open and its position was not used: the next plain read is byte 0.
      assert.ok(fstatSync(fd).isFile());
      const first = Buffer.alloc(9);
      readSync(fd, first, 0, 9, null);
      assert.equal(first, tar.subarray(0, 9));
    } finally {
      closeSync(fd);
    }
    const gotFd = describeTree(byFd, { mtimes: true, skipRootMeta: true });
    assert.equal(diffTrees(gotFd, want), []);
  },
);

File(
  'read buffers are reused only once consumed: thousands of entries across many reads stay intact',
  async () => {
    // ~24 MB of small files, long PAX names and xattrs: each 1 MiB read buffer is reused ~20 times, and
    // headers, PAX blocks and bodies straddle the read boundaries at every possible place.
    let seed = 99;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // First a PAX block placed across the first 1 MiB read boundary: tar-stream holds its first part
    // until the next read arrives, so that read must not land in the same buffer.
    const longName = `x/${'long-'.repeat(40)}`;
    const entries: TestEntry[] = [
      { name: 'pad', content: pattern(MiB - 2048, 0) },
      { name: longName, content: Buffer.from('v'), pax: { 'SCHILY.xattr.user.big': 'z'.repeat(3000) } },
    ];
    for (let i = 0; i < 3000; i++) {
      const name = i % 7 === 0 ? `d${i % 13}/${'long-'.repeat(30)}${i}` : `d${i % 13}/f${i}`;
      const pax = i % 11 === 0 ? { 'SCHILY.xattr.user.n': String(i).repeat(rand(300)) } : undefined;
      entries.push({ name, content: pattern(rand(16_000), i), pax });
    }
    const tar = await buildTar(entries);
    const layer = join(dir, 'many.tar');
    writeFileSync(layer, tar);
    const out = join(dir, 'out');
    mkdirSync(out);
    const r = await apply(layer, out);
    assert.is(r.entries, 3002);
    assert.is(readFileSync(join(out, longName), 'utf8'), 'v');
    for (const e of entries) {
      const got = readFileSync(join(out, e.name));
      assert.ok(got.equals(e.content as Buffer), `${e.name}: content`);
    }
  },
);

File(
  'bodies longer than the parser’s stand-in zeros (16 MiB) land whole, and so does what follows',
  async () => {
    // A bypassed body is matched by zeros fed to tar-stream in 16 MiB chunks: 40 MiB + 5 is two whole
    // chunks and a part, 17 MiB one and a part; the entries after each must still be parsed in step.
    const huge = pattern(40 * MiB + 5, 21);
    const second = pattern(17 * MiB, 22);
    const after = pattern(3000, 23);
    const tar = await buildTar([
      { name: 'huge', content: huge },
      { name: 'after', content: after, mode: 0o600 },
      { name: 'second', content: second },
      { name: 'last', type: 'symlink', linkname: 'after' },
    ]);
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, tar);
    for (const threads of [0, undefined]) {
      const out = join(dir, `out-${threads}`);
      mkdirSync(out);
      const r = await apply(layer, out, { threads });
      assert.is(r.entries, 4);
      assert.is(r.bytes, tar.length);
      assert.is(r.contentBytes, huge.length + second.length + after.length);
      const got = describeTree(out, { skipRootMeta: true });
      assert.is(got.huge!.sha, sha(huge), `threads ${threads}: huge`);
      assert.is(got.second!.sha, sha(second), `threads ${threads}: second`);
      assert.is(got.after!.sha, sha(after));
      assert.is(got.after!.mode, '600');
      assert.is(got.last!.link, 'after');
    }
  },
);

File('a gzip’ed layer file is sniffed and decompressed', async () => {
  const tar = await buildTar(layerEntries());
  const layer = join(dir, 'layer.tar.gz');
  writeFileSync(layer, gzipSync(tar));
  writeFileSync(join(dir, 'plain.tar'), tar);
  const want = gnuTree(join(dir, 'plain.tar'));
  const out = join(dir, 'out');
  mkdirSync(out);
  const r = await apply(layer, out);
  assert.is(r.compression, 'gzip');
  assert.is(r.bytes, tar.length);
  const got = describeTree(out, { mtimes: true, skipRootMeta: true });
  assert.equal(diffTrees(got, want), []);

  // By descriptor: read through a stream that must neither close it (a ReadStream's destroy() does,
  // whatever autoClose says) nor move its position.
  const byFd = join(dir, 'by-fd');
  mkdirSync(byFd);
  const fd = openSync(layer, 'r');
  try {
    const r2 = await apply(fd, byFd);
    assert.is(r2.compression, 'gzip');
    assert.ok(fstatSync(fd).isFile(), 'the descriptor is still open');
    const first = Buffer.alloc(2);
    readSync(fd, first, 0, 2, null);
    assert.equal([...first], [0x1f, 0x8b], 'and still at offset 0');
  } finally {
    closeSync(fd);
  }
  assert.equal(diffTrees(describeTree(byFd, { mtimes: true, skipRootMeta: true }), want), []);
});

File('a layer file cut inside a big body or a header is ERR_OVL_BAD_TAR', async () => {
  const tar = await buildTar([
    { name: 'a', content: small },
    { name: 'big', content: big },
    { name: 'z', content: 'z' },
  ]);
  for (const cut of [512 * 12 + MiB, 512 * 12 + 2 * MiB + 7, tar.length - 1024 - 512 - 100]) {
    const layer = join(dir, `cut-${cut}.tar`);
    writeFileSync(layer, tar.subarray(0, cut));
    const out = join(dir, `out-${cut}`);
    mkdirSync(out);
    try {
      await apply(layer, out);
      assert.unreachable(`cut at ${cut} was accepted`);
    } catch (err) {
      assert.is((err as TarError).code, 'ERR_OVL_BAD_TAR', `cut at ${cut}: ${(err as Error).message}`);
    }
  }
});

File('a missing layer file is ERR_OVL_BAD_SOURCE', async () => {
  try {
    await apply(join(dir, 'nope.tar'), dir);
    assert.unreachable();
  } catch (err) {
    assert.is((err as TarError).code, 'ERR_OVL_BAD_SOURCE');
  }
});

/**
 * The native calls, with a copyFileRange that records its ranges and copies with pread/pwrite (or fails
 * with `fail`); with `sendfile`, also a sendFileAt that records its ranges into `sent` and calls the real
 * one (or fails with `sendfile.fail`).
 */
function recordingSys(
  fail?: string,
  sendfile?: { fail?: string },
): { sys: ApplySyscalls; calls: number[][]; sent: number[][] } {
  const calls: number[][] = [];
  const sent: number[][] = [];
  const sys: ApplySyscalls = {
    ...(sendfile && {
      sendFileAt(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number) {
        sent.push([inOffset, outOffset, length]);
        if (sendfile.fail) throw Object.assign(new Error(sendfile.fail), { code: sendfile.fail });
        return sendFileAt(inFd, inOffset, outFd, outOffset, length);
      },
    }),
    mknod,
    makedev,
    lsetxattr,
    copyFileRange(inFd, inOffset, outFd, outOffset, length) {
      calls.push([inOffset, outOffset, length]);
      if (fail) throw Object.assign(new Error(fail), { code: fail });
      const buf = Buffer.alloc(Math.min(length, 256 * 1024));
      const got = readSync(inFd, buf, 0, buf.length, inOffset);
      let off = 0;
      while (off < got) off += writeSync(outFd, buf, off, got - off, outOffset + off);
      return got;
    },
  };
  return { sys, calls, sent };
}

File('big bodies go through copyFileRange at their offsets in the layer file; EXDEV falls back', async () => {
  const tar = await buildTar([
    { name: 'a', content: small },
    { name: 'big', content: big },
  ]);
  const layer = join(dir, 'layer.tar');
  writeFileSync(layer, tar);
  const bodyAt = 512 + Math.ceil(small.length / 512) * 512 + 512; // header, small's body, big's header
  for (const fail of [undefined, 'EXDEV']) {
    const out = join(dir, `out-${fail ?? 'ok'}`);
    mkdirSync(out);
    const { sys, calls } = recordingSys(fail);
    await applyWith(sys, layer, out);
    assert.ok(calls.length > 0, 'the kernel copy was asked for');
    const [inOffset, outOffset] = calls[0]!;
    assert.is(inOffset! - outOffset!, bodyAt, 'input and output offsets differ by the body’s offset');
    assert.is(readFileSync(join(out, 'big')).equals(big), true, `content (${fail ?? 'copyFileRange'})`);
    assert.is(readFileSync(join(out, 'a')).equals(small), true);
  }
});

File(
  'where copyFileRange says EXDEV, sendfile copies the body; where sendfile says EINVAL, read/write',
  async () => {
    const tar = await buildTar([
      { name: 'a', content: small },
      { name: 'big', content: big },
    ]);
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, tar);
    const bodyAt = 512 + Math.ceil(small.length / 512) * 512 + 512;
    for (const sendFail of [undefined, 'EINVAL']) {
      const out = join(dir, `out-send-${sendFail ?? 'ok'}`);
      mkdirSync(out);
      const { sys, calls, sent } = recordingSys('EXDEV', { fail: sendFail });
      await applyWith(sys, layer, out);
      assert.is(calls.length, 1, 'copy_file_range was tried once');
      assert.ok(sent.length > 0, 'sendfile was asked for');
      assert.is(sent[0]![0]! - sent[0]![1]!, bodyAt, 'sendfile at the body’s offsets');
      assert.is(sent[0]![1]! + sent[0]![2]!, big.length, 'sendfile asked for the rest of the body');
      assert.is(readFileSync(join(out, 'big')).equals(big), true, `content (sendfile ${sendFail ?? 'ok'})`);
      assert.is(readFileSync(join(out, 'a')).equals(small), true);
    }
  },
);

File(
  'a layer file on disk applied onto tmpfs (copy_file_range: EXDEV) gets every body right, threads or not',
  async () => {
    if (!existsSync('/dev/shm')) {
      console.log('  skipped: no /dev/shm');
      return;
    }
    const bigs = [0, 1, 2].map((i) => pattern(9 * MiB + i * 1000 + 7, 10 + i)); // 8 MiB on: writer threads
    const tar = await buildTar([
      { name: 'a', content: small },
      ...bigs.map((content, i) => ({ name: `d/big${i}`, content })),
    ]);
    const layer = join(dir, 'cross.tar'); // dir: under tmpdir(), on the root disk here
    writeFileSync(layer, tar);
    for (const threads of [0, 2]) {
      const out = tempDir(`cross-${threads}`, '/dev/shm');
      try {
        await apply(layer, out, { threads });
        for (const [i, content] of bigs.entries())
          assert.ok(readFileSync(join(out, `d/big${i}`)).equals(content), `d/big${i} (threads ${threads})`);
        assert.ok(readFileSync(join(out, 'a')).equals(small));
      } finally {
        removeDir(out);
      }
    }
  },
);

File(
  'a failing sendfile (not one that means "unsupported") is ERR_OVL_WRITE_FAILED naming the entry',
  async () => {
    const tar = await buildTar([{ name: 'big', content: big }]);
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, tar);
    const out = join(dir, 'out-send-eio');
    mkdirSync(out);
    const err = await applyWith(recordingSys('EXDEV', { fail: 'EIO' }).sys, layer, out).catch(
      (e: unknown) => e,
    );
    assert.is((err as TarError).code, 'ERR_OVL_WRITE_FAILED');
    assert.is((err as TarError).entry, 'big');
  },
);

File(
  'a failing copyFileRange (not one that means "unsupported") is ERR_OVL_WRITE_FAILED naming the entry',
  async () => {
    const tar = await buildTar([{ name: 'big', content: big }]);
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, tar);
    const out = join(dir, 'out');
    mkdirSync(out);
    const err = await applyWith(recordingSys('EIO').sys, layer, out).catch((e: unknown) => e);
    assert.is((err as TarError).code, 'ERR_OVL_WRITE_FAILED');
    assert.is((err as TarError).entry, 'big');
  },
);

File('hostile names through a layer file stay inside the target (the same writer)', async () => {
  const outside = tempDir('file-outside');
  try {
    const tar = await buildTar([
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/big', content: big },
      { name: 'up', type: 'symlink', linkname: '../../..' },
      { name: 'up/f', content: 'x' },
    ]);
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, tar);
    const out = join(dir, 'out');
    mkdirSync(out);
    await apply(layer, out);
    assert.equal(describeTree(outside), { '.': describeTree(outside)['.']! });
    assert.is(readFileSync(join(out, outside, 'big')).equals(big), true, 'landed under the target');
    assert.is(readFileSync(join(out, 'f'), 'utf8'), 'x', '.. stops at the top of the target');
  } finally {
    removeDir(outside);
  }
});

File(
  'fchown is skipped only where new files already get the entry’s owner (a setgid dir does not)',
  async () => {
    if (!isRoot) return console.log('  skipped: chown needs root');
    const out = join(dir, 'out');
    mkdirSync(out);
    // A dir of an earlier layer, setgid and group 1234: files made in it get group 1234 unless chowned.
    mkdirSync(join(out, 'sg'));
    execFileSync('chown', ['0:1234', join(out, 'sg')]);
    execFileSync('chmod', ['2775', join(out, 'sg')]);
    const tar = await buildTar([
      { name: 'sg/a', content: 'a' },
      { name: 'sg/b', content: 'b' },
      { name: 'plain/a', content: 'a' },
      { name: 'plain/b', content: 'b', uid: 5, gid: 6 },
      { name: 'plain/c', content: 'c' },
    ]);
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, tar);
    await apply(layer, out);
    for (const f of ['sg/a', 'sg/b', 'plain/a', 'plain/c']) {
      const st = lstatSync(join(out, f));
      assert.equal([st.uid, st.gid], [0, 0], f);
    }
    const b = lstatSync(join(out, 'plain/b'));
    assert.equal([b.uid, b.gid], [5, 6]);
    // The same for dirs and symlinks, whose lchown is skipped by the same rule once a file there showed
    // the owner new inodes get; and a subdir of the setgid dir loses the inherited setgid bit.
    const tar2 = await buildTar([
      { name: 'sg/first', content: 'f' },
      { name: 'sg/sub/', type: 'directory', mode: 0o755 },
      { name: 'sg/link', type: 'symlink', linkname: 'first' },
      { name: 'plain/sub/', type: 'directory', mode: 0o755 },
      { name: 'plain/link', type: 'symlink', linkname: 'a' },
      { name: 'plain/kept/', type: 'directory', mode: 0o2750, uid: 7, gid: 8 },
    ]);
    await apply(streamOf(tar2), out);
    for (const f of ['sg/sub', 'sg/link', 'plain/sub', 'plain/link']) {
      const st = lstatSync(join(out, f));
      assert.equal([st.uid, st.gid], [0, 0], f);
    }
    assert.is(lstatSync(join(out, 'sg/sub')).mode & 0o7777, 0o755, 'no setgid bit inherited');
    assert.is(lstatSync(join(out, 'plain/sub')).mode & 0o7777, 0o755);
    const kept = lstatSync(join(out, 'plain/kept'));
    assert.equal([kept.uid, kept.gid, kept.mode & 0o7777], [7, 8, 0o2750]);
    // The same through a stream, for the writer's other input.
    const out2 = join(dir, 'out2');
    mkdirSync(join(out2, 'sg'), { recursive: true });
    execFileSync('chown', ['0:1234', join(out2, 'sg')]);
    execFileSync('chmod', ['2775', join(out2, 'sg')]);
    await apply(streamOf(tar), out2);
    assert.is(lstatSync(join(out2, 'sg/a')).gid, 0);
  },
);

File.run();
