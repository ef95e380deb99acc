// statfs(2) and the name of the filesystem behind a path, from f_type (linux/magic.h). The layer
// drivers use the name to refuse backing filesystems they cannot stack on (overlay on overlay,
// aufs on aufs, ecryptfs...).
import { check } from './errors.js';
import { fn, lastErrno } from './libc.js';

export interface StatFs {
  /** f_type, the filesystem magic number */
  type: number;
  /** 'ext4', 'xfs', 'btrfs', 'tmpfs', 'overlay', 'zfs', 'aufs', 'ecryptfs', 'nfs', 'fuse', … or 'unknown' */
  fsName: string;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namelen: number;
}

const magicNames = new Map<number, string>([
  [0xef53, 'ext4'], // ext2, ext3 and ext4 share the magic
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlay'],
  [0x2fc12fc1, 'zfs'],
  [0x61756673, 'aufs'],
  [0xf15f, 'ecryptfs'],
  [0x6969, 'nfs'],
  [0x65735546, 'fuse'],
  [0xf2f52010, 'f2fs'],
  [0x47504653, 'gpfs'],
  [0x3153464a, 'jfs'],
  [0x52654973, 'reiserfs'],
  [0x73717368, 'squashfs'],
  [0x858458f6, 'ramfs'],
  [0x28cd3d45, 'cramfs'],
  [0x72b6, 'jffs2'],
  [0x517b, 'smb'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0xe0f5e1e2, 'erofs'],
  [0xca451a4e, 'bcachefs'],
  [0x01021997, '9p'],
  [0x00c36400, 'ceph'],
  [0x3434, 'nilfs'],
  [0x5346544e, 'ntfs'],
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x63677270, 'cgroup2'],
]);

/** The name for a statfs f_type, 'unknown' when not in the table. */
export function fsNameOf(type: number): string {
  return magicNames.get(type) ?? 'unknown';
}

/**
 * statfs(2). Synchronous. struct statfs on 64-bit Linux (x64 and arm64 alike) is thirteen 8-byte
 * words: type, bsize, blocks, bfree, bavail, files, ffree, fsid, namelen, frsize, flags, spare[4].
 */
export function statfs(path: string): StatFs {
  const buf = Buffer.alloc(128);
  check(fn('int statfs(const char *, void *)')(path, buf), lastErrno(), 'statfs', path);
  const word = (i: number) => Number(buf.readBigUInt64LE(i * 8));
  const type = word(0);
  return {
    type,
    fsName: fsNameOf(type),
    bsize: word(1),
    blocks: word(2),
    bfree: word(3),
    bavail: word(4),
    files: word(5),
    ffree: word(6),
    namelen: word(8),
  };
}
