// lstatx: the fields a tree walk needs, the same as Node's lstat (bigint) reports them.
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lstatx, lstatxAt, makedev, mknod, S_IFCHR, SyscallError, splitDev } from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';

const statx = suite('lstatx');

/** What lstatx must agree on with lstat(bigint). */
function expected(path: string) {
  const st = lstatSync(path, { bigint: true });
  let sec = st.mtimeNs / 1_000_000_000n;
  let nsec = st.mtimeNs % 1_000_000_000n;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  const rdev = splitDev(Number(st.rdev));
  const dev = splitDev(Number(st.dev));
  return {
    mode: Number(st.mode),
    nlink: Number(st.nlink),
    uid: Number(st.uid),
    gid: Number(st.gid),
    ino: st.ino,
    size: Number(st.size),
    mtimeSec: Number(sec),
    mtimeNsec: Number(nsec),
    rdevMajor: rdev.major,
    rdevMinor: rdev.minor,
    devMajor: dev.major,
    devMinor: dev.minor,
  };
}

function fields(path: string) {
  const { mask, ...rest } = lstatx(path);
  assert.is(mask & 0x35f, 0x35f, 'type, mode, nlink, uid, gid, mtime, ino and size filled in');
  return rest;
}

statx('files, dirs, a symlink itself, hardlinks, sizes over 4 GiB, times before 1970 and in ns', () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'f');
    writeFileSync(file, 'hello');
    linkSync(file, join(t.dir, 'h'));
    const link = join(t.dir, 'l');
    symlinkSync('f', link);
    mkdirSync(join(t.dir, 'd'), 0o1750);
    const big = join(t.dir, 'big');
    writeFileSync(big, '');
    truncateSync(big, 5 * 2 ** 30 + 3); // sparse: no disk used
    const old = join(t.dir, 'old');
    writeFileSync(old, '');
    const before1970 = new Date(-86_400_250); // 1969-12-30 23:59:59.750
    utimesSync(old, before1970, before1970);
    for (const p of [file, link, join(t.dir, 'd'), big, old, t.dir]) assert.equal(fields(p), expected(p), p);
    assert.is(lstatx(link).size, 1, "the link's own size, not its target's");
    assert.is(lstatx(file).nlink, 2);
    assert.is(lstatx(join(t.dir, 'h')).ino, lstatx(file).ino);
    assert.is(lstatx(big).size, 5 * 2 ** 30 + 3);
    assert.is(lstatx(old).mtimeSec, -86_401);
    assert.is(lstatx(old).mtimeNsec, 750_000_000);
  } finally {
    t.remove();
  }
});

statx('a device number', () => {
  if (!isRoot) return console.log('  skipped: mknod needs root');
  const t = tempDir();
  try {
    const dev = join(t.dir, 'null');
    mknod(dev, S_IFCHR | 0o666, makedev(1, 3));
    assert.equal(fields(dev), expected(dev));
    assert.is(lstatx(dev).rdevMajor, 1);
    assert.is(lstatx(dev).rdevMinor, 3);
  } finally {
    t.remove();
  }
});

statx('a missing path is a SyscallError naming it', () => {
  const t = tempDir();
  try {
    const p = join(t.dir, 'nope');
    let err: unknown;
    try {
      lstatx(p);
    } catch (e) {
      err = e;
    }
    assert.instance(err, SyscallError);
    assert.is((err as SyscallError).code, 'ENOENT');
    assert.is((err as SyscallError).syscall, 'statx');
    assert.is((err as SyscallError).path, p);
  } finally {
    t.remove();
  }
});

statx(
  'lstatxAt: relative to an open directory, the same fields; a symlink itself; errors name the name',
  () => {
    const t = tempDir();
    const dfd = openSync(t.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      mkdirSync(join(t.dir, 'sub'));
      writeFileSync(join(t.dir, 'sub', 'f'), 'content');
      symlinkSync('/etc/passwd', join(t.dir, 'abs-link'));
      for (const name of ['sub', 'sub/f', 'abs-link']) {
        const { mask: _, ...got } = lstatxAt(dfd, name);
        assert.equal(got, expected(join(t.dir, name)), name);
      }
      assert.is(lstatxAt(dfd, 'abs-link').size, '/etc/passwd'.length, "the link's own size");
      // An absolute name ignores the directory, as statx(2) does.
      assert.equal(lstatxAt(dfd, join(t.dir, 'sub', 'f')).ino, lstatx(join(t.dir, 'sub', 'f')).ino);
      let err: unknown;
      try {
        lstatxAt(dfd, 'missing');
      } catch (e) {
        err = e;
      }
      assert.instance(err, SyscallError);
      assert.is((err as SyscallError).code, 'ENOENT');
      assert.is((err as SyscallError).path, 'missing');
      assert.throws(
        () => lstatxAt(-1, 'f'),
        (e: SyscallError) => e.code === 'EBADF',
      );
    } finally {
      closeSync(dfd);
      t.remove();
    }
  },
);

statx.run();
