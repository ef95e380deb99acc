import { closeSync, lstatSync, mkdirSync, openSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  fgetxattr,
  flistxattr,
  getPageSize,
  lgetxattr,
  llistxattr,
  lremovexattr,
  lsetxattr,
  makedev,
  mknod,
  mount,
  S_IFCHR,
  S_IFIFO,
  SyscallError,
  splitDev,
  statfs,
  umount2,
  XATTR_CREATE,
} from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';

const pageSize = suite('getPageSize');
pageSize('is a power of two of at least 4096', () => {
  const p = getPageSize();
  assert.ok(p >= 4096);
  assert.is(p & (p - 1), 0);
});
pageSize.run();

const dev = suite('makedev');
dev('encodes like glibc and splits back', () => {
  assert.is(makedev(0, 0), 0);
  assert.is(makedev(1, 3), 0x103);
  assert.is(makedev(8, 17), 0x811);
  assert.is(makedev(259, 0x12345), (0x123 << 12) * 256 + 0x103 * 256 + 0x45);
  for (const [ma, mi] of [
    [0, 0],
    [1, 3],
    [4095, 255],
    [4096, 256],
    [70000, 1 << 20],
  ] as const) {
    assert.equal(splitDev(makedev(ma, mi)), { major: ma, minor: mi });
  }
});
dev('matches the rdev Node reports for /dev/null', () => {
  assert.is(statSync('/dev/null').rdev, makedev(1, 3));
});
dev.run();

const nod = suite('mknod');
nod('creates a FIFO and (as root) a 0/0 whiteout device', () => {
  const t = tempDir();
  try {
    mknod(join(t.dir, 'fifo'), S_IFIFO | 0o644);
    assert.ok(lstatSync(join(t.dir, 'fifo')).isFIFO());
    if (!isRoot) {
      console.log('  skip whiteout mknod: needs root (CAP_MKNOD)');
      return;
    }
    mknod(join(t.dir, 'wh'), S_IFCHR, makedev(0, 0));
    const st = lstatSync(join(t.dir, 'wh'));
    assert.ok(st.isCharacterDevice());
    assert.is(st.rdev, 0);
    mknod(join(t.dir, 'null'), S_IFCHR | 0o666, makedev(1, 3));
    assert.is(lstatSync(join(t.dir, 'null')).rdev, statSync('/dev/null').rdev);
  } finally {
    t.remove();
  }
});
nod('EEXIST surfaces as a Node-like error with the path', () => {
  const t = tempDir();
  try {
    const p = join(t.dir, 'f');
    writeFileSync(p, '');
    const err = catchErr(() => mknod(p, S_IFIFO | 0o644));
    assert.instance(err, SyscallError);
    assert.is(err.code, 'EEXIST');
    assert.is(err.errno, -17);
    assert.is(err.syscall, 'mknod');
    assert.is(err.path, p);
    assert.match(err.message, /^EEXIST: mknod '/);
  } finally {
    t.remove();
  }
});
nod.run();

const xattr = suite('xattrs');
xattr('set, get, list and remove on a file and on a symlink itself', () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'f');
    writeFileSync(file, 'x');
    const ns = isRoot ? 'trusted' : 'user';
    lsetxattr(file, `${ns}.overlay.opaque`, 'y');
    lsetxattr(file, 'user.bin', Buffer.from([0, 1, 2, 255]));
    lsetxattr(file, 'user.empty', '');
    assert.equal(lgetxattr(file, `${ns}.overlay.opaque`), Buffer.from('y'));
    assert.equal(lgetxattr(file, 'user.bin'), Buffer.from([0, 1, 2, 255]));
    assert.equal(lgetxattr(file, 'user.empty'), Buffer.alloc(0));
    assert.is(lgetxattr(file, 'user.absent'), undefined);
    assert.equal(llistxattr(file).sort(), [`${ns}.overlay.opaque`, 'user.bin', 'user.empty'].sort());
    const big = Buffer.alloc(3000, 7);
    lsetxattr(file, 'user.big', big);
    assert.equal(lgetxattr(file, 'user.big'), big);
    lremovexattr(file, 'user.bin');
    assert.is(lgetxattr(file, 'user.bin'), undefined);
    const err = catchErr(() => lsetxattr(file, 'user.big', 'again', XATTR_CREATE));
    assert.is(err.code, 'EEXIST');
    const err2 = catchErr(() => lremovexattr(file, 'user.absent'));
    assert.is(err2.code, 'ENODATA');
    assert.is(err2.path, file);

    if (isRoot) {
      // user.* xattrs are not allowed on symlinks; trusted.* are (root only), and must stay on the link.
      const link = join(t.dir, 'l');
      symlinkSync('f', link);
      lsetxattr(link, 'trusted.x', 'link');
      assert.equal(lgetxattr(link, 'trusted.x'), Buffer.from('link'));
      assert.is(lgetxattr(file, 'trusted.x'), undefined);
      assert.equal(llistxattr(link), ['trusted.x']);
    }
  } finally {
    t.remove();
  }
});
xattr('ENOENT names the path', () => {
  const err = catchErr(() => llistxattr('/nonexistent/ovl/x'));
  assert.is(err.code, 'ENOENT');
  assert.is(err.syscall, 'llistxattr');
  assert.is(err.path, '/nonexistent/ovl/x');
});
xattr('flistxattr and fgetxattr on an open file: the same as by path; EBADF for a bad descriptor', () => {
  const t = tempDir();
  const file = join(t.dir, 'f');
  writeFileSync(file, 'x');
  lsetxattr(file, 'user.bin', Buffer.from([0, 1, 2, 255]));
  lsetxattr(file, 'user.empty', '');
  lsetxattr(file, 'user.big', Buffer.alloc(3000, 7));
  const fd = openSync(file, 'r');
  try {
    assert.equal(flistxattr(fd).sort(), llistxattr(file).sort());
    for (const name of llistxattr(file)) assert.equal(fgetxattr(fd, name), lgetxattr(file, name), name);
    assert.is(fgetxattr(fd, 'user.absent'), undefined);
    const plain = join(t.dir, 'plain');
    writeFileSync(plain, '');
    const pfd = openSync(plain, 'r');
    assert.equal(flistxattr(pfd), []);
    closeSync(pfd);
    const err = catchErr(() => flistxattr(-1));
    assert.is(err.code, 'EBADF');
    assert.is(err.syscall, 'flistxattr');
    assert.is(catchErr(() => fgetxattr(-1, 'user.x')).code, 'EBADF');
  } finally {
    closeSync(fd);
    t.remove();
  }
});
xattr.run();

const sfs = suite('statfs');
sfs('names the filesystem of / and of /proc, /dev/shm', () => {
  const proc = statfs('/proc');
  assert.is(proc.fsName, 'proc');
  assert.is(proc.type, 0x9fa0);
  const shm = statfs('/dev/shm');
  assert.is(shm.fsName, 'tmpfs');
  assert.ok(shm.bsize > 0);
  assert.ok(shm.namelen >= 255);
  const root = statfs('/');
  assert.ok(root.blocks > 0 && root.bfree <= root.blocks && root.bavail <= root.bfree);
});
sfs('ENOENT for a missing path', () => {
  const err = catchErr(() => statfs('/nonexistent/ovl'));
  assert.is(err.code, 'ENOENT');
  assert.is(err.syscall, 'statfs');
});
sfs.run();

const mnt = suite('mount and umount2');
mnt('tmpfs mount shows up in statfs and goes away on umount2', () => {
  if (!isRoot) return console.log('  skip: mount needs root');
  const t = tempDir();
  const target = join(t.dir, 'm');
  mkdirSync(target);
  try {
    mount('tmpfs', target, 'tmpfs', 0, 'size=1m,mode=0700');
    try {
      assert.is(statfs(target).fsName, 'tmpfs');
      assert.is(statSync(target).mode & 0o777, 0o700);
    } finally {
      umount2(target);
    }
    assert.is(statfs(target).fsName, statfs(t.dir).fsName);
  } finally {
    t.remove();
  }
});
mnt('errors say what was tried and what fixes it', () => {
  const err = catchErr(() => mount('none', '/nonexistent/ovl/target', 'overlay', 0, 'lowerdir=/a:/b'));
  assert.is(err.code, isRoot ? 'ENOENT' : 'EPERM');
  assert.is(err.syscall, 'mount');
  assert.is(err.path, '/nonexistent/ovl/target');
  assert.match(err.message, "mount overlay 'none' on '/nonexistent/ovl/target'");
  assert.match(err.message, 'data 14 bytes: "lowerdir=/a:/b"');
  if (!isRoot) assert.match(err.message, 'CAP_SYS_ADMIN');
  const u = catchErr(() => umount2('/nonexistent/ovl/target'));
  assert.is(u.syscall, 'umount2');
  assert.is(u.path, '/nonexistent/ovl/target');
});
mnt('refuses data that the kernel would truncate', () => {
  const data = `lowerdir=${'a'.repeat(getPageSize())}`;
  const err = catchErr(() => mount('none', '/tmp', 'overlay', 0, data));
  assert.is(err.code, 'EINVAL');
  assert.match(err.message, `kernel keeps only ${getPageSize() - 1}`);
});
mnt('EPERM hint mentions root and CAP_SYS_ADMIN', () => {
  const e = new SyscallError(1, 'mount', '/x');
  assert.is(e.code, 'EPERM');
  assert.match(e.message, 'root');
  assert.match(e.message, 'CAP_SYS_ADMIN');
});
mnt.run();

function catchErr(f: () => unknown): SyscallError {
  try {
    f();
  } catch (e) {
    return e as SyscallError;
  }
  throw new Error('expected an error');
}
