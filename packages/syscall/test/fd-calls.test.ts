import { constants, lstatSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AT_FDCWD,
  close,
  fchmod,
  fchown,
  futimens,
  O_CLOEXEC,
  O_PATH,
  openat,
  SyscallError,
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
