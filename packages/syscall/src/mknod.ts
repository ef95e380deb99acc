// mknod(2) and makedev(3): overlayfs whiteouts are 0/0 character devices, which Node cannot create.
import { check } from './errors.js';
import { fn, lastErrno } from './libc.js';

/**
 * The dev_t for a major/minor pair, glibc's encoding (12+20 bits of major, 8+24 of minor).
 * Returned as a number: exact for every real device (major < 4096 keeps it under 2^44).
 */
export function makedev(major: number, minor: number): number {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  const dev =
    ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
  return Number(dev);
}

/** major/minor of a dev_t (e.g. fs.Stats.rdev). */
export function splitDev(dev: number): { major: number; minor: number } {
  const d = BigInt(dev);
  const major = Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn));
  const minor = Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn));
  return { major, minor };
}

/**
 * mknod(2): `mode` is the file type (S_IFCHR, S_IFBLK, S_IFIFO) or-ed with the permission bits; the
 * umask applies as usual. A whiteout is `mknod(p, S_IFCHR | 0o000, makedev(0, 0))`. Synchronous.
 */
export function mknod(path: string, mode: number, dev: number | bigint = 0): void {
  const ret = fn('int mknod(const char *, uint32_t, uint64_t)')(path, mode, BigInt(dev));
  check(ret, lastErrno(), 'mknod', path);
}
