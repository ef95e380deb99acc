import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apply } from '../src/index.js';
import { buildTar, streamOf, T0 } from './fixtures/layer-tar.js';
import { removeDir, tempDir } from './fixtures/tree.js';

const isRoot = process.getuid?.() === 0;
let dir = '';

const Entries = suite('apply: entry kinds and header features');
Entries.before.each(() => {
  dir = tempDir('entries');
});
Entries.after.each(() => removeDir(dir));

Entries('files, dirs, symlinks, hardlinks, fifos keep content, mode bits and link targets', async () => {
  const tar = await buildTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/passwd', content: 'root:x:0:0\n', mode: 0o644 },
    { name: 'usr/bin/su', content: 'ELF', mode: 0o4755 },
    { name: 'usr/bin/wall', content: 'ELF2', mode: 0o2755 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
    { name: 'proc-self', type: 'symlink', linkname: '/proc/self/fd' },
    { name: 'etc/passwd-link', type: 'link', linkname: 'etc/passwd' },
    { name: 'run/initctl', type: 'fifo', mode: 0o600 },
    { name: 'empty', content: '' },
    { name: 'world', content: 'w', mode: 0o777 },
    { name: 'none', content: 'n', mode: 0o400 },
  ]);
  const r = await apply(streamOf(tar, 1000), dir);
  assert.is(lstatSync(join(dir, 'world')).mode & 0o7777, 0o777, 'bits the umask drops are restored');
  assert.is(lstatSync(join(dir, 'none')).mode & 0o7777, 0o400, 'a read-only file still gets its content');
  assert.is(readFileSync(join(dir, 'none'), 'utf8'), 'n');
  assert.is(r.entries, 12);
  assert.is(r.bytes, tar.length);
  assert.is(r.contentBytes, 11 + 3 + 4 + 2);
  assert.is(readFileSync(join(dir, 'etc/passwd'), 'utf8'), 'root:x:0:0\n');
  assert.is(lstatSync(join(dir, 'usr/bin/su')).mode & 0o7777, 0o4755);
  assert.is(lstatSync(join(dir, 'usr/bin/wall')).mode & 0o7777, 0o2755);
  assert.is(lstatSync(join(dir, 'tmp')).mode & 0o7777, 0o1777, 'the umask must not apply');
  assert.is(readlinkSync(join(dir, 'bin')), 'usr/bin');
  assert.is(readlinkSync(join(dir, 'proc-self')), '/proc/self/fd', 'absolute symlinks are kept as they are');
  assert.is(lstatSync(join(dir, 'etc/passwd-link')).ino, lstatSync(join(dir, 'etc/passwd')).ino);
  assert.ok(lstatSync(join(dir, 'run/initctl')).isFIFO());
  assert.is(lstatSync(join(dir, 'run/initctl')).mode & 0o7777, 0o600);
  assert.is(lstatSync(join(dir, 'empty')).size, 0);
});

Entries('owners are numeric uid/gid, mapped through uidMap/gidMap', async () => {
  if (!isRoot) return console.log('  skipped: chown needs root');
  const tar = await buildTar([
    { name: 'a', content: 'x', uid: 1000, gid: 100 },
    { name: 'd/', type: 'directory', uid: 33, gid: 33 },
    { name: 'l', type: 'symlink', linkname: 'a', uid: 7, gid: 8 },
  ]);
  await apply(streamOf(tar), dir);
  assert.equal([lstatSync(join(dir, 'a')).uid, lstatSync(join(dir, 'a')).gid], [1000, 100]);
  assert.equal([lstatSync(join(dir, 'd')).uid, lstatSync(join(dir, 'd')).gid], [33, 33]);
  assert.equal([lstatSync(join(dir, 'l')).uid, lstatSync(join(dir, 'l')).gid], [7, 8]);
  const mapped = tempDir('mapped');
  try {
    const map = [{ containerId: 0, hostId: 100000, size: 65536 }];
    await apply(streamOf(tar), mapped, { uidMap: map, gidMap: map });
    assert.equal([lstatSync(join(mapped, 'a')).uid, lstatSync(join(mapped, 'a')).gid], [101000, 100100]);
    const bad = await buildTar([{ name: 'x', content: 'x', uid: 70000 }]);
    try {
      await apply(streamOf(bad), mapped, { uidMap: map });
      assert.unreachable('an unmapped uid must fail');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_OVL_UNMAPPED_ID');
      assert.is((err as { entry?: string }).entry, 'x');
    }
  } finally {
    removeDir(mapped);
  }
});

Entries('mtimes: files, symlinks, and dirs set after their children; PAX sub-second times', async () => {
  const tar = await buildTar([
    { name: 'd/', type: 'directory', mtime: new Date('2001-01-01T00:00:00Z') },
    { name: 'd/f', content: 'x', mtime: new Date('2002-02-02T00:00:00Z') },
    { name: 'd/sub/g', content: 'y', pax: { mtime: '1600000000.123456789' } },
    { name: 'd/l', type: 'symlink', linkname: 'f', mtime: new Date('2003-03-03T00:00:00Z') },
  ]);
  await apply(streamOf(tar), dir);
  assert.is(lstatSync(join(dir, 'd')).mtime.toISOString(), '2001-01-01T00:00:00.000Z');
  assert.is(lstatSync(join(dir, 'd/f')).mtime.toISOString(), '2002-02-02T00:00:00.000Z');
  assert.is(lstatSync(join(dir, 'd/l')).mtime.toISOString(), '2003-03-03T00:00:00.000Z');
  const ns = lstatSync(join(dir, 'd/sub/g'), { bigint: true }).mtimeNs;
  assert.is(ns, 1600000000123456789n, 'a PAX mtime lands to the nanosecond');
});

Entries(
  'PAX times land to the nanosecond on files, dirs, symlinks and fifos, in one thread or three',
  async () => {
    // Times a double of seconds cannot hold: 9 fraction digits, one before 1970, one with extra digits.
    const t = (mtime: string, atime?: string) => ({ mtime, ...(atime ? { atime } : {}) });
    const entries = [
      { name: 'd/', type: 'directory' as const, pax: t('1700000000.000000001', '1700000001.999999999') },
      { name: 'd/f', content: 'x', pax: t('1600000000.123456789') },
      { name: 'd/old', content: 'y', pax: t('-1.25') },
      { name: 'd/cut', content: 'z', pax: t('1500000000.1234567891234') },
      { name: 'd/l', type: 'symlink' as const, linkname: 'f', pax: t('1400000000.987654321') },
      { name: 'd/p', type: 'fifo' as const, pax: t('1300000000.5') },
      // Bodies a writer thread takes (a layer file, threads on).
      ...Array.from({ length: 40 }, (_, i) => ({
        name: `d/many/${i}`,
        content: `body ${i}`,
        pax: t(`1650000000.${String(100000001 + i).padStart(9, '0')}`),
      })),
    ];
    const tar = await buildTar(entries);
    const layer = join(tempDir('ns-layer'), 'layer.tar');
    writeFileSync(layer, tar);
    for (const threads of [0, 2]) {
      const out = tempDir(`ns-${threads}`);
      try {
        const r = threads
          ? await apply(layer, out, { threads })
          : await apply(streamOf(tar), out, { threads });
        if (threads) assert.ok(r.threadedFiles > 0, 'the writer threads took some files');
        const st = (p: string) => lstatSync(join(out, p), { bigint: true });
        assert.is(st('d').mtimeNs, 1700000000000000001n, `dir mtime (threads ${threads})`);
        assert.is(st('d').atimeNs, 1700000001999999999n, `dir atime (threads ${threads})`);
        assert.is(st('d/f').mtimeNs, 1600000000123456789n);
        assert.is(st('d/f').atimeNs, 1600000000123456789n, 'no atime: the mtime');
        assert.is(st('d/old').mtimeNs, -1250000000n, '-1.25 s: before the epoch');
        assert.is(st('d/cut').mtimeNs, 1500000000123456789n, 'digits past the 9th are cut');
        assert.is(st('d/l').mtimeNs, 1400000000987654321n, "the symlink's own time");
        assert.is(st('d/p').mtimeNs, 1300000000500000000n);
        for (let i = 0; i < 40; i++) {
          assert.is(st(`d/many/${i}`).mtimeNs, 1650000000000000000n + BigInt(100000001 + i), `d/many/${i}`);
        }
      } finally {
        removeDir(out);
      }
    }
    removeDir(join(layer, '..'));
  },
);

Entries('long names and link names (PAX and GNU longname) land where they say', async () => {
  const long = `${'d'.repeat(120)}/${'e'.repeat(150)}/${'f'.repeat(200)}.txt`;
  const tar = await buildTar([
    { name: long, content: 'deep' },
    { name: 'shortlink', type: 'symlink', linkname: long },
    { name: `${'h'.repeat(130)}`, type: 'link', linkname: long },
  ]);
  await apply(streamOf(tar), dir);
  assert.is(readFileSync(join(dir, long), 'utf8'), 'deep');
  assert.is(readlinkSync(join(dir, 'shortlink')), long);
  assert.is(lstatSync(join(dir, 'h'.repeat(130))).ino, lstatSync(join(dir, long)).ino);
  // GNU tar writes long names as 'L'/'K' records.
  const src = tempDir('gnu-src');
  try {
    const { execFileSync } = await import('node:child_process');
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(join(src, 'x'.repeat(120)), { recursive: true });
    writeFileSync(join(src, 'x'.repeat(120), 'y'.repeat(110)), 'gnu');
    symlinkSync('t'.repeat(150), join(src, 'lnk'));
    const gnu = execFileSync('tar', ['--format=gnu', '-cf', '-', '-C', src, '.']);
    const out = tempDir('gnu-out');
    try {
      await apply(streamOf(gnu), out);
      assert.is(readFileSync(join(out, 'x'.repeat(120), 'y'.repeat(110)), 'utf8'), 'gnu');
      assert.is(readlinkSync(join(out, 'lnk')), 't'.repeat(150));
    } finally {
      removeDir(out);
    }
  } finally {
    removeDir(src);
  }
});

Entries('PAX uid/gid and times apply the same whether or not the PAX block also holds xattrs', async () => {
  // Two ways through apply: a PAX block with an xattr record is read from its raw bytes, one without
  // from tar-stream's decoded values. Ids beyond ustar's 2097151 and ns times must land either way.
  const ids = { uid: '3000000', gid: '2500000', mtime: '1600000000.123456789', atime: '1600000001.5' };
  const tar = await buildTar([
    { name: 'plain', content: 'p', pax: { ...ids } },
    { name: 'tagged', content: 't', pax: { ...ids, 'SCHILY.xattr.user.k': 'v' } },
    {
      name: 'late',
      content: 'l',
      pax: { 'SCHILY.xattr.user.k': 'w', ...ids, mtime: '1500000000.000000007' },
    },
  ]);
  const r = await apply(streamOf(tar), dir);
  for (const name of ['plain', 'tagged', 'late']) {
    const st = lstatSync(join(dir, name), { bigint: true });
    if (isRoot) assert.equal([st.uid, st.gid], [3000000n, 2500000n], `${name}: PAX owner`);
    assert.is(st.atimeNs, 1600000001500000000n, `${name}: PAX atime`);
  }
  assert.is(lstatSync(join(dir, 'plain'), { bigint: true }).mtimeNs, 1600000000123456789n);
  assert.is(lstatSync(join(dir, 'tagged'), { bigint: true }).mtimeNs, 1600000000123456789n);
  assert.is(lstatSync(join(dir, 'late'), { bigint: true }).mtimeNs, 1500000000000000007n);
  if (r.warnings.length === 0) {
    assert.is(lgetxattr(join(dir, 'tagged'), 'user.k')?.toString(), 'v');
    assert.is(lgetxattr(join(dir, 'late'), 'user.k')?.toString(), 'w');
    assert.is(lgetxattr(join(dir, 'plain'), 'user.k'), undefined, 'no xattr where the block had none');
  }
});

Entries('PAX xattrs are set, user.* and security.capability (binary) included', async () => {
  const tar = await buildTar([{ name: 'f', content: 'x', pax: { 'SCHILY.xattr.user.color': 'blue' } }]);
  const r = await apply(streamOf(tar), dir);
  if (r.warnings.length > 0)
    return console.log(`  skipped: this file system refuses user xattrs (${r.warnings[0]})`);
  assert.is(lgetxattr(join(dir, 'f'), 'user.color')?.toString(), 'blue');
  if (!isRoot) return console.log('  skipped: security.capability needs root');
  // A real binary capability (cap_net_raw+ep), written by GNU tar from a file setcap'ed here.
  const src = tempDir('cap-src');
  const out = tempDir('cap-out');
  try {
    const { execFileSync } = await import('node:child_process');
    writeFileSync(join(src, 'ping'), 'ELF');
    try {
      execFileSync('setcap', ['cap_net_raw+ep', join(src, 'ping')]);
    } catch {
      return console.log('  skipped: setcap is not available');
    }
    const want = lgetxattr(join(src, 'ping'), 'security.capability');
    const gnu = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-cf', '-', '-C', src, 'ping']);
    await apply(streamOf(gnu), out);
    assert.ok(want && want.length >= 20);
    assert.equal(lgetxattr(join(out, 'ping'), 'security.capability'), want);
  } finally {
    removeDir(src);
    removeDir(out);
  }
});

Entries('overlay private xattrs in a layer are dropped, never set', async () => {
  const tar = await buildTar([
    { name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } },
  ]);
  await apply(streamOf(tar), dir, { format: 'overlay' });
  assert.is(lgetxattr(join(dir, 'd'), 'trusted.overlay.redirect'), undefined);
});

Entries('char and block devices (root), refused with noDevices', async () => {
  const tar = await buildTar([
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660 },
  ]);
  if (isRoot) {
    await apply(streamOf(tar), dir);
    const st = lstatSync(join(dir, 'dev/null'));
    assert.ok(st.isCharacterDevice());
    assert.is(st.rdev, 0x103);
    assert.is(st.mode & 0o7777, 0o666);
    assert.ok(lstatSync(join(dir, 'dev/loop0')).isBlockDevice());
  } else console.log('  skipped: mknod needs root');
  const other = tempDir('nodev');
  try {
    await apply(streamOf(tar), other, { noDevices: true });
    assert.unreachable('noDevices must refuse device entries');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_OVL_DEVICE_REFUSED');
    assert.is((err as { entry?: string }).entry, 'dev/null');
    assert.not.ok(existsSync(join(other, 'dev/null')));
  } finally {
    removeDir(other);
  }
});

Entries('duplicate entries: the later wins; a dir replaces a file and a file replaces a dir', async () => {
  const tar = await buildTar([
    { name: 'a', content: 'first' },
    { name: 'a', content: 'second' },
    { name: 'x', content: 'file' },
    { name: 'x/', type: 'directory' },
    { name: 'x/in', content: 'inside' },
    { name: 'y/', type: 'directory' },
    { name: 'y/deep/z', content: 'z' },
    { name: 'y', content: 'now a file' },
    { name: 's', type: 'symlink', linkname: 'a' },
    { name: 's', content: 'not a link' },
    { name: 'd/', type: 'directory', mode: 0o700 },
    { name: 'd/', type: 'directory', mode: 0o750 },
  ]);
  await apply(streamOf(tar), dir);
  assert.is(readFileSync(join(dir, 'a'), 'utf8'), 'second');
  assert.is(readFileSync(join(dir, 'x/in'), 'utf8'), 'inside');
  assert.is(readFileSync(join(dir, 'y'), 'utf8'), 'now a file');
  assert.ok(lstatSync(join(dir, 's')).isFile());
  assert.is(lstatSync(join(dir, 'd')).mode & 0o7777, 0o750);
});

Entries("'./' entries apply to the target itself; './x', '/x' and 'x' are the same path", async () => {
  const tar = await buildTar([
    { name: './', type: 'directory', mode: 0o711, mtime: new Date('2005-05-05T00:00:00Z') },
    { name: './a', content: '1' },
    { name: '/b', content: '2' },
    { name: 'c/./d/../e', content: '3' },
  ]);
  await apply(streamOf(tar), dir);
  assert.is(lstatSync(dir).mode & 0o7777, 0o711);
  assert.is(lstatSync(dir).mtime.toISOString(), '2005-05-05T00:00:00.000Z');
  assert.is(readFileSync(join(dir, 'a'), 'utf8'), '1');
  assert.is(readFileSync(join(dir, 'b'), 'utf8'), '2');
  assert.is(readFileSync(join(dir, 'c/e'), 'utf8'), '3');
});

Entries('a file is streamed whole across many chunks and entries of every size', async () => {
  const sizes = [0, 1, 511, 512, 513, 16_385, 65_536, 70_001];
  const entries = sizes.map((n, i) => ({ name: `f${i}`, content: Buffer.alloc(n, i + 1) }));
  const tar = await buildTar(entries);
  for (const chunk of [3, 512, 100_000]) {
    const out = tempDir('chunks');
    try {
      await apply(streamOf(tar, chunk), out);
      for (const [i, n] of sizes.entries())
        assert.equal(readFileSync(join(out, `f${i}`)), Buffer.alloc(n, i + 1));
    } finally {
      removeDir(out);
    }
  }
});

Entries(
  'an existing target tree: new files break old hardlinks instead of writing through them',
  async () => {
    writeFileSync(join(dir, 'old'), 'lower');
    const { linkSync } = await import('node:fs');
    linkSync(join(dir, 'old'), join(dir, 'twin'));
    const tar = await buildTar([{ name: 'twin', content: 'upper' }]);
    await apply(streamOf(tar), dir);
    assert.is(readFileSync(join(dir, 'old'), 'utf8'), 'lower');
    assert.is(readFileSync(join(dir, 'twin'), 'utf8'), 'upper');
    void T0;
  },
);

Entries.run();
