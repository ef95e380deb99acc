import { chmodSync, chownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lsetxattr, makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '@ovl/syscall';

/**
 * Files of every kind, as Docker's graphtest base layer has them: a 0705+sticky dir owned 1:2, a
 * 0222+setuid file, plus a symlink, a hardlink, a fifo, devices and xattrs.
 */
export function writeBaseFiles(dir: string): void {
  writeFileSync(join(dir, 'file'), 'hello\n');
  chmodSync(join(dir, 'file'), 0o644);
  mkdirSync(join(dir, 'sticky'));
  chmodSync(join(dir, 'sticky'), 0o1705);
  chownSync(join(dir, 'sticky'), 1, 2);
  writeFileSync(join(dir, 'sticky', 'inner'), 'in\n');
  writeFileSync(join(dir, 'setuid'), 'secret');
  chmodSync(join(dir, 'setuid'), 0o4222);
  symlinkSync('file', join(dir, 'symlink'));
  symlinkSync('/etc/absolute', join(dir, 'abs-symlink'));
  linkSync(join(dir, 'file'), join(dir, 'hardlink'));
  mknod(join(dir, 'fifo'), S_IFIFO | 0o600, 0);
  mknod(join(dir, 'null'), S_IFCHR | 0o666, makedev(1, 3));
  mknod(join(dir, 'loop'), S_IFBLK | 0o660, makedev(7, 0));
  mkdirSync(join(dir, 'deep', 'er', 'est'), { recursive: true });
  writeFileSync(join(dir, 'deep', 'er', 'est', 'leaf'), Buffer.alloc(70_000, 7));
  lsetxattr(join(dir, 'file'), 'user.note', 'value');
  lsetxattr(join(dir, 'deep'), 'trusted.ovl-test', Buffer.from([0, 1, 2]));
}
