// diff() of an upper dir: overlay whiteouts and opaque dirs become `.wh.` entries, overlay's own xattrs
// stay out, aufs metadata stays out, redirect/metacopy uppers are refused.
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  lgetxattr,
  llistxattr,
  lsetxattr,
  makedev,
  mknod,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  utimensat,
} from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apply, diff, UnsupportedUpperError } from '../src/index.js';
import {
  build,
  collect,
  isRoot,
  markOpaque,
  overlayWhiteout,
  readTar,
  rmTree,
  summary,
  tempDir,
} from './diff-helpers.js';

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service+ep, v2

const overlay = suite('diff: overlay upper dir');
let lower = '';
let upper = '';

overlay.before(() => {
  if (!isRoot) return;
  lower = tempDir('dl');
  upper = tempDir('du');
  build(lower, { 'a/x': 'x', 'a/y': 'y', 'b/z': 'z', c: 'c', 'keep/k': 'k', 'empty/': '' });
  build(upper, { 'a/n': 'new', 'b/new': 'nn', 'bin/su': 'su-bytes', 'dev/': '', 'empty/': '', 'fresh/': '' });
  markOpaque(upper, 'a'); // hides a/x and a/y below
  markOpaque(upper, 'empty'); // nothing below to hide
  markOpaque(upper, 'fresh'); // nothing below at all
  overlayWhiteout(upper, 'b/z');
  overlayWhiteout(upper, 'c');
  chownSync(join(upper, 'bin/su'), 1000, 1001);
  chmodSync(join(upper, 'bin/su'), 0o4755);
  lsetxattr(join(upper, 'bin/su'), 'security.capability', CAP);
  lsetxattr(join(upper, 'bin/su'), 'user.note', 'hello');
  lsetxattr(join(upper, 'bin/su'), 'trusted.overlay.origin', Buffer.from([0, 1, 2]));
  lsetxattr(join(upper, 'b'), 'trusted.overlay.impure', 'y');
  mknod(join(upper, 'dev/null'), S_IFCHR | 0o666, makedev(1, 3));
  mknod(join(upper, 'dev/loop0'), S_IFBLK | 0o660, makedev(7, 0));
  mknod(join(upper, 'dev/fifo'), S_IFIFO | 0o644, 0);
  chmodSync(join(upper, 'dev/null'), 0o666);
  chmodSync(join(upper, 'dev/loop0'), 0o660);
  symlinkSync('../bin/su', join(upper, 'dev/sym'));
  linkSync(join(upper, 'b/new'), join(upper, 'b/new-link'));
  for (const d of ['a', 'b', 'bin', 'dev', 'empty', 'fresh']) chmodSync(join(upper, d), 0o755);
  chmodSync(join(upper, 'b/new'), 0o644);
  chmodSync(join(upper, 'a/n'), 0o600);
});

overlay.after(() => {
  rmTree(lower);
  rmTree(upper);
});

overlay('with lowers: whiteouts, opaque only where something is hidden, devices, links, xattrs', async () => {
  if (!isRoot) return console.log('skip: needs root (mknod, trusted.* xattrs, chown)');
  const records = await readTar(await collect(diff({ upper, lowers: [lower] })));
  assert.equal(summary(records), [
    '.wh.c file 0 0:0 0',
    'a/ directory 755 0:0 0',
    'a/.wh..wh..opq file 755 0:0 0',
    'a/n file 600 0:0 3',
    'b/ directory 755 0:0 0',
    'b/.wh.z file 0 0:0 0',
    'b/new file 644 0:0 2',
    'b/new-link link 644 0:0 0 -> b/new',
    'bin/ directory 755 0:0 0',
    'bin/su file 4755 1000:1001 8',
    'dev/ directory 755 0:0 0',
    'dev/fifo fifo 644 0:0 0',
    'dev/loop0 block-device 660 0:0 0',
    'dev/null character-device 666 0:0 0',
    'dev/sym symlink 777 0:0 0 -> ../bin/su',
    'empty/ directory 755 0:0 0',
    'fresh/ directory 755 0:0 0',
  ]);
  const byName = new Map(records.map((r) => [r.name, r]));
  const su = byName.get('bin/su')!;
  assert.is(su.content.toString(), 'su-bytes');
  const xattrKeys = (r: { pax: Record<string, string> | null } | undefined) =>
    Object.keys(r?.pax ?? {})
      .filter((k) => k.startsWith('SCHILY.'))
      .sort();
  assert.equal(xattrKeys(su), ['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.note']);
  assert.is(su.pax?.['SCHILY.xattr.user.note'], 'hello');
  assert.equal(xattrKeys(byName.get('b/')), [], 'trusted.overlay.impure never leaks');
  assert.ok(/^\d+\.\d+$/.test(su.pax?.mtime ?? ''), 'sub-second mtime as a PAX record');
  assert.equal([byName.get('dev/null')?.devmajor, byName.get('dev/null')?.devminor], [1, 3]);
  assert.equal([byName.get('dev/loop0')?.devmajor, byName.get('dev/loop0')?.devminor], [7, 0]);
  for (const r of records) {
    assert.is(r.uname, '', `${r.name}: no user name`);
    assert.is(r.gname, '', `${r.name}: no group name`);
    if (r.type !== 'character-device' && r.type !== 'block-device')
      assert.equal([r.devmajor, r.devminor], [0, 0]);
  }
});

overlay(
  '3,000 small files: xattrs read with the content on the reader thread round-trip; metacopy refused',
  async () => {
    // Past 2,048 entries of small files diff reads their content on a worker, which lists each file's
    // xattrs on the descriptor it reads from; apply of the tar must give every xattr back, overlay's own
    // left out, hardlinks included.
    if (!isRoot) return console.log('skip: needs root (security.* and trusted.* xattrs)');
    const src = tempDir('dxa');
    const out = tempDir('dxa-out');
    try {
      const files: string[] = [];
      for (let d = 0; d < 6; d++) {
        for (let f = 0; f < 500; f++) {
          const rel = `d${d}/f${f}`;
          build(src, { [rel]: `file ${rel} `.repeat((f % 5) + 1) });
          files.push(rel);
          if (f % 40 === 0) lsetxattr(join(src, rel), 'user.note', `note ${rel}`);
          if (f % 97 === 0) lsetxattr(join(src, rel), 'security.capability', CAP);
          if (f % 120 === 0) lsetxattr(join(src, rel), 'trusted.overlay.origin', Buffer.from([1, 2, 3]));
        }
      }
      linkSync(join(src, 'd1/f0'), join(src, 'd1/hard'));
      files.push('d1/hard');
      const tar = await collect(diff({ upper: src }));
      await apply(Readable.from([tar]), out);
      let withXattrs = 0;
      for (const rel of files) {
        const want = llistxattr(join(src, rel))
          .filter((n) => !n.startsWith('trusted.overlay.'))
          .sort();
        assert.equal(llistxattr(join(out, rel)).sort(), want, rel);
        for (const name of want)
          assert.equal(lgetxattr(join(out, rel), name), lgetxattr(join(src, rel), name));
        if (want.length > 0) withXattrs++;
      }
      assert.is(
        withXattrs,
        6 * (13 + 6) - 6 + 1,
        'files with xattrs (f0 has both kinds in every dir; the hardlink)',
      );
      lsetxattr(join(src, 'd4/f321'), 'trusted.overlay.metacopy', '');
      const err = await collect(diff({ upper: src })).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.instance(err, UnsupportedUpperError);
      assert.match(err!.message, /d4\/f321 carries the overlay metacopy xattr/);
    } finally {
      rmTree(src);
      rmTree(out);
    }
  },
);

overlay('without lowers every opaque directory gets its marker', async () => {
  if (!isRoot) return console.log('skip: needs root');
  const names = (await readTar(await collect(diff({ upper })))).map((r) => r.name);
  assert.ok(names.includes('a/.wh..wh..opq'));
  assert.ok(names.includes('empty/.wh..wh..opq'));
  assert.ok(names.includes('fresh/.wh..wh..opq'));
  assert.is(names.indexOf('fresh/.wh..wh..opq'), names.indexOf('fresh/') + 1, 'marker right after its dir');
});

overlay('opaque below a lower-layer whiteout or opaque dir hides nothing', async () => {
  if (!isRoot) return console.log('skip: needs root');
  const l1 = tempDir('dl1');
  const l2 = tempDir('dl2');
  const up = tempDir('du2');
  try {
    build(l2, { 'gone/f': 'f', 'o/old/f': 'f', 'o/keep': 'k' });
    build(l1, { 'o/': '' });
    overlayWhiteout(l1, 'gone');
    markOpaque(l1, 'o'); // l2's o/old is hidden already
    build(up, { 'gone/': '', 'o/old/': '', 'o/': '' });
    markOpaque(up, 'gone');
    markOpaque(up, 'o/old');
    const names = (await readTar(await collect(diff({ upper: up, lowers: [l1, l2] })))).map((r) => r.name);
    assert.equal(names, ['gone/', 'o/', 'o/old/']);
  } finally {
    rmTree(l1);
    rmTree(l2);
    rmTree(up);
  }
});

overlay('redirect_dir and metacopy uppers are refused with ERR_OVL_NOT_SUPPORTED', async () => {
  if (!isRoot) return console.log('skip: needs root');
  for (const [feature, rel] of [
    ['redirect', 'moved/'],
    ['metacopy', 'meta'],
  ] as const) {
    const up = tempDir('du3');
    try {
      build(up, { [rel]: 'data' });
      lsetxattr(join(up, rel), `trusted.overlay.${feature}`, feature === 'redirect' ? '/old' : '');
      const err = await collect(diff({ upper: up })).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.instance(err, UnsupportedUpperError);
      assert.is((err as UnsupportedUpperError).code, 'ERR_OVL_NOT_SUPPORTED');
      assert.is((err as UnsupportedUpperError).feature, feature);
      assert.match((err as Error).message, 'naive diff');
    } finally {
      rmTree(up);
    }
  }
});

overlay('userxattr: user.overlay.opaque marks, user.overlay.* stays out', async () => {
  if (!isRoot) return console.log('skip: needs root');
  const lo = tempDir('dl4');
  const up = tempDir('du4');
  try {
    build(lo, { 'd/old': 'o' });
    build(up, { 'd/new': 'n' });
    lsetxattr(join(up, 'd'), 'user.overlay.opaque', 'y');
    lsetxattr(join(up, 'd/new'), 'user.overlay.origin', 'x');
    const records = await readTar(await collect(diff({ upper: up, lowers: [lo], userxattr: true })));
    assert.equal(
      records.map((r) => r.name),
      ['d/', 'd/.wh..wh..opq', 'd/new'],
    );
    assert.equal(
      Object.keys(records[2]?.pax ?? {}).filter((k) => k.includes('overlay')),
      [],
    );
  } finally {
    rmTree(lo);
    rmTree(up);
  }
});

overlay(
  'nanosecond mtimes round-trip: diff writes them, apply sets them (files, dirs, symlinks)',
  async () => {
    const src = tempDir('dns');
    const out = tempDir('dns-out');
    try {
      build(src, { 'd/f': 'one', 'd/g': 'two', top: 'three' });
      symlinkSync('f', join(src, 'd/l'));
      mkdirSync(join(src, 'empty'));
      // Times a double of seconds cannot hold; one before 1970. Children before their directories.
      const times: Array<[string, number, number]> = [
        ['d/f', 1_700_000_000, 123_456_789],
        ['d/g', -5, 1],
        ['d/l', 1_600_000_000, 999_999_999],
        ['top', 1_650_000_000, 500_000_001],
        ['empty', 1_500_000_000, 7],
        ['d', 1_400_000_000, 987_654_321],
      ];
      for (const [rel, sec, nsec] of times)
        utimensat(AT_FDCWD, join(src, rel), sec, nsec, sec, nsec, AT_SYMLINK_NOFOLLOW);
      const tar = await collect(diff({ upper: src }));
      await apply(Readable.from([tar]), out);
      for (const [rel, sec, nsec] of times) {
        const want = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
        assert.is(lstatSync(join(src, rel), { bigint: true }).mtimeNs, want, `${rel} in the source`);
        assert.is(lstatSync(join(out, rel), { bigint: true }).mtimeNs, want, rel);
      }
    } finally {
      rmTree(src);
      rmTree(out);
    }
  },
);

overlay.run();

const aufs = suite('diff: aufs branch');

aufs('keeps .wh. whiteouts and the opaque marker, leaves aufs metadata out', async () => {
  const up = tempDir('da');
  try {
    build(up, {
      '.wh..wh.aufs': '',
      '.wh..wh.plnk/123.456': '',
      '.wh..wh.orph/': '',
      '.wh.gone': '',
      'd/.wh..wh..opq': '',
      'd/f': 'f',
      'e/.wh.x': '',
    });
    chmodSync(join(up, 'd'), 0o750);
    chmodSync(join(up, 'e'), 0o755);
    chmodSync(join(up, 'd/f'), 0o644);
    utimesSync(join(up, 'd'), 1000, 1000);
    const records = await readTar(await collect(diff({ upper: up, format: 'aufs' })));
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    assert.equal(summary(records), [
      '.wh.gone file 0 0:0 0',
      'd/ directory 750 ' + `${uid}:${gid}` + ' 0',
      'd/.wh..wh..opq file 750 ' + `${uid}:${gid}` + ' 0',
      'd/f file 644 ' + `${uid}:${gid}` + ' 1',
      'e/ directory 755 ' + `${uid}:${gid}` + ' 0',
      'e/.wh.x file 0 0:0 0',
    ]);
    assert.is(records[2]?.mtime, 1000_000, 'marker carries the directory mtime');
  } finally {
    rmTree(up);
  }
});

aufs.run();
