// Small synchronous file-system helpers shared by changes and diff. Diff and changes walk whole trees and
// spend most of their time in lstat/readdir; the synchronous calls cost a few µs each where awaiting the
// libuv pool costs ~70–90 µs per call on this machine (BASELINES.md), so walks use them on purpose.
import { type BigIntStats, lstatSync, readdirSync } from 'node:fs';
import { TarError } from '../errors.js';

/** lstat with nanosecond times; undefined when the path (or a component of it) does not exist. */
export function lstatMaybe(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** An overlayfs whiteout: a character device with device number 0/0. */
export function isWhiteoutStat(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

/** The names in a directory (unsorted), or undefined when it vanished. */
export function readNames(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Throws a TarError unless `dir` is an existing directory. */
export function assertSourceDir(dir: string, role: string): void {
  let st: BigIntStats | undefined;
  try {
    st = lstatMaybe(dir);
  } catch (cause) {
    throw new TarError('ERR_OVL_BAD_SOURCE', `cannot read the ${role} directory ${dir}`, {
      path: dir,
      cause,
    });
  }
  if (!st?.isDirectory()) {
    throw new TarError(
      'ERR_OVL_BAD_SOURCE',
      `the ${role} directory ${dir} ${st ? 'is not a directory' : 'does not exist'}; pass an existing directory`,
      { path: dir },
    );
  }
}

/** Seconds and nanoseconds of a stat's mtime, floor-divided so times before 1970 stay exact. */
export function mtimeOf(st: BigIntStats): { sec: number; nsec: number } {
  let sec = st.mtimeNs / 1_000_000_000n;
  let nsec = st.mtimeNs % 1_000_000_000n;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}
