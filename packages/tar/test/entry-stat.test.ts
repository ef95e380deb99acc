// lstatEntry (statx through @ovl/syscall) agrees with Node's lstat (bigint), which it falls back to.
import { linkSync, lstatSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makedev, mknod, S_IFCHR, S_IFIFO } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { entryStatOf, isWhiteoutEntryStat, lstatEntry } from '../src/diff/entry-stat.js';
import { rmTree, tempDir } from './diff-helpers.js';

const isRoot = process.getuid?.() === 0;
const stat = suite('lstatEntry');

stat('every entry kind: the same fields as from lstat (bigint)', () => {
  const dir = tempDir('entry-stat');
  try {
    const paths: string[] = [];
    const add = (name: string) => {
      paths.push(join(dir, name));
      return join(dir, name);
    };
    writeFileSync(add('f'), 'content');
    linkSync(join(dir, 'f'), add('hardlink'));
    symlinkSync('/nowhere', add('dangling'));
    mkdirSync(add('d'), 0o2755);
    mknod(add('fifo'), S_IFIFO | 0o600);
    const old = add('old');
    writeFileSync(old, '');
    utimesSync(old, new Date(-1_500), new Date(-1_500)); // 1969-12-31 23:59:58.5
    if (isRoot) {
      mknod(add('whiteout'), S_IFCHR, makedev(0, 0));
      mknod(add('null'), S_IFCHR | 0o666, makedev(1, 3));
    }
    for (const p of paths) assert.equal(lstatEntry(p), entryStatOf(lstatSync(p, { bigint: true })), p);
    assert.equal(lstatEntry(old)?.mtime, { sec: -2, nsec: 500_000_000 });
    assert.is(lstatEntry(join(dir, 'f'))?.ino, lstatEntry(join(dir, 'hardlink'))?.ino);
    if (isRoot) {
      assert.ok(isWhiteoutEntryStat(lstatEntry(join(dir, 'whiteout'))!));
      assert.not.ok(isWhiteoutEntryStat(lstatEntry(join(dir, 'null'))!));
    } else console.log('  skipped (devices): mknod needs root');
  } finally {
    rmTree(dir);
  }
});

stat('a missing path, or one under a file, is undefined', () => {
  const dir = tempDir('entry-stat-missing');
  try {
    writeFileSync(join(dir, 'f'), '');
    assert.is(lstatEntry(join(dir, 'nope')), undefined);
    assert.is(lstatEntry(join(dir, 'f', 'below')), undefined);
  } finally {
    rmTree(dir);
  }
});

stat.run();
