import {
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  close,
  fchmod,
  fchown,
  futimens,
  futimensNs,
  O_CLOEXEC,
  O_PATH,
  openat,
  SyscallError,
  utimensat,
  writeAll,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('descriptor calls (openat, writeAll, futimens, fchown, fchmod, close)');
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | O_CLOEXEC;

test('openat creates relative to a directory descriptor; the bytes written land in that file', () => {
  const t = tempDir();
  try {
    mkdirSync(join(t.dir, 'd'));
    const dfd = openat(AT_FDCWD, join(t.dir, 'd'), constants.O_RDONLY | constants.O_DIRECTORY | O_CLOEXEC);
    const fd = openat(dfd, 'f', CREATE, 0o640);
    const data = Buffer.from('0123456789abcdef');
    writeAll(fd, data, 4, 8); // '456789ab'
    writeAll(fd, data); // the whole buffer after it
    writeAll(fd, Buffer.from('XY'), 0, 2, 0); // pwrite at 0: the file position is not used
    close(fd);
    close(dfd);
    assert.is(readFileSync(join(t.dir, 'd', 'f'), 'utf8'), 'XY6789ab0123456789abcdef');
    assert.is(statSync(join(t.dir, 'd', 'f')).mode & 0o777, 0o640 & ~process.umask());
  } finally {
    t.remove();
  }
});

test('failures are SyscallErrors with the errno name, the call and the name', () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'there'), 'x');
    const dfd = openat(AT_FDCWD, t.dir, O_PATH | constants.O_DIRECTORY | O_CLOEXEC);
    try {
      openat(dfd, 'there', CREATE);
      assert.unreachable('O_EXCL on an existing file');
    } catch (err) {
      assert.instance(err, SyscallError);
      assert.is((err as SyscallError).code, 'EEXIST');
      assert.is((err as SyscallError).syscall, 'openat');
      assert.is((err as SyscallError).path, 'there');
    }
    close(dfd);
    assert.throws(
      () => close(dfd),
      (e: SyscallError) => e.code === 'EBADF' && e.syscall === 'close',
    );
    assert.throws(
      () => writeAll(dfd, Buffer.from('x')),
      (e: SyscallError) => e.code === 'EBADF',
    );
  } finally {
    t.remove();
  }
});

test('futimens sets sub-second, pre-1970 and post-2038 times exactly', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'f');
    writeFileSync(path, '');
    const fd = openSync(path, 'r+');
    const cases: Array<[number, number]> = [
      [1_700_000_000.123456, 1_600_000_000.987654],
      [-86_400.5, -1],
      [4_102_444_800.25, 2 ** 33 + 0.5],
    ];
    for (const [atime, mtime] of cases) {
      futimens(fd, atime, mtime);
      const st = lstatSync(path, { bigint: true });
      const ns = (s: number) =>
        BigInt(Math.floor(s)) * 1_000_000_000n + BigInt(Math.round((s - Math.floor(s)) * 1e9));
      assert.is(st.atimeNs, ns(atime), `atime ${atime}`);
      assert.is(st.mtimeNs, ns(mtime), `mtime ${mtime}`);
    }
    close(fd);
  } finally {
    t.remove();
  }
});

// [seconds, nanoseconds] pairs a double of seconds cannot hold exactly.
const EXACT: Array<[number, number]> = [
  [1_700_000_000, 123_456_789],
  [-86_401, 999_999_999],
  [2 ** 33, 1],
];
const ns = (sec: number, nsec: number) => BigInt(sec) * 1_000_000_000n + BigInt(nsec);

test('futimensNs sets seconds plus nanoseconds exactly, pre-1970 and post-2038 too', () => {
  const t = tempDir();
  try {
    const path = join(t.dir, 'f');
    writeFileSync(path, '');
    const fd = openSync(path, 'r+');
    for (const [sec, nsec] of EXACT) {
      futimensNs(fd, sec + 5, 7, sec, nsec);
      const st = lstatSync(path, { bigint: true });
      assert.is(st.atimeNs, ns(sec + 5, 7), `atime ${sec}.${nsec}`);
      assert.is(st.mtimeNs, ns(sec, nsec), `mtime ${sec}.${nsec}`);
    }
    close(fd);
  } finally {
    t.remove();
  }
});

test("utimensat with AT_SYMLINK_NOFOLLOW sets a symlink's own times, not its target's", () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'file');
    const link = join(t.dir, 'link');
    writeFileSync(file, '');
    symlinkSync('file', link);
    const before = lstatSync(file, { bigint: true }).mtimeNs;
    const [sec, nsec] = EXACT[0]!;
    utimensat(AT_FDCWD, link, sec, nsec, sec, nsec, AT_SYMLINK_NOFOLLOW);
    assert.is(lstatSync(link, { bigint: true }).mtimeNs, ns(sec, nsec));
    assert.is(lstatSync(file, { bigint: true }).mtimeNs, before, 'the target is untouched');
    utimensat(AT_FDCWD, link, 1, 2, 3, 4); // without the flag: the target
    assert.is(lstatSync(file, { bigint: true }).mtimeNs, ns(3, 4));
    const dfd = openat(AT_FDCWD, t.dir, O_PATH | constants.O_DIRECTORY | O_CLOEXEC);
    utimensat(dfd, 'file', 0, 0, 9, 999_999_999); // relative to a directory descriptor
    close(dfd);
    assert.is(lstatSync(file, { bigint: true }).mtimeNs, ns(9, 999_999_999));
  } finally {
    t.remove();
  }
});

test('utimensat and futimensNs: a missing path is ENOENT naming it; a bad time is a RangeError', () => {
  const missing = '/nonexistent-ovl-utimensat';
  try {
    utimensat(AT_FDCWD, missing, 0, 0, 0, 0);
    assert.unreachable('utimensat on a missing path');
  } catch (err) {
    assert.instance(err, SyscallError);
    const e = err as SyscallError;
    assert.is(e.code, 'ENOENT');
    assert.is(e.syscall, 'utimensat');
    assert.is(e.path, missing);
  }
  assert.throws(() => futimensNs(-1, 0, 1e9, 0, 0), RangeError);
  assert.throws(() => utimensat(AT_FDCWD, missing, 0.5, 0, 0, 0), RangeError);
  assert.throws(() => futimens(-1, Number.NaN, 0), RangeError);
});

test('fchown and fchmod (setuid kept when chmod follows chown)', () => {
  if (process.getuid?.() !== 0) {
    console.log('  skipped: fchown to another owner needs root');
    return;
  }
  const t = tempDir();
  try {
    const path = join(t.dir, 'f');
    writeFileSync(path, '');
    const fd = openSync(path, 'r+');
    fchown(fd, 1234, 5678);
    fchmod(fd, 0o4755);
    close(fd);
    const st = statSync(path);
    assert.is(st.uid, 1234);
    assert.is(st.gid, 5678);
    assert.is(st.mode & 0o7777, 0o4755);
  } finally {
    t.remove();
  }
});

test.run();
