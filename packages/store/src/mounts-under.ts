import { readMountinfo } from '@ovl/syscall';

/**
 * Mount points at or below `dir`, deepest first (the order to unmount them in), from
 * /proc/self/mountinfo (or another mountinfo file, e.g. /proc/<pid>/mountinfo).
 */
export function mountsUnder(dir: string, mountinfo = '/proc/self/mountinfo'): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readMountinfo(mountinfo)
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
