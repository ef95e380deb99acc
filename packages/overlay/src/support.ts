import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { StatFs, Syscalls } from '@ovl/syscall';
import { OverlayError } from './errors.js';

/** True when the kernel lists overlay in /proc/filesystems, after trying `modprobe overlay` once. */
export function overlayInKernel(): boolean {
  const listed = () => /\toverlay\n/.test(readFileSync('/proc/filesystems', 'utf8'));
  if (listed()) return true;
  spawnSync('modprobe', ['overlay'], { stdio: 'ignore' });
  return listed();
}

// Filesystems an overlay upper or lower cannot live on (containers/storage's incompatible list).
const INCOMPATIBLE = new Set(['overlay', 'aufs', 'zfs', 'ecryptfs']);

/**
 * Checks the backing filesystem of `home` by statfs and returns its name. Refuses overlay on
 * overlay, aufs, zfs and ecryptfs with `ERR_OVL_INCOMPATIBLE_FS`.
 */
export function checkBackingFs(home: string, sys: Pick<Syscalls, 'statfs'>): StatFs {
  const st = sys.statfs(home);
  if (INCOMPATIBLE.has(st.fsName)) {
    throw new OverlayError(
      'ERR_OVL_INCOMPATIBLE_FS',
      `overlay cannot use ${home}: it is on ${st.fsName}, which overlayfs does not support as a backing filesystem; put the store on ext4, xfs, btrfs or tmpfs`,
      { path: home },
    );
  }
  return st;
}

/**
 * Whether readdir returns file types on `home`. Node cannot see d_type directly (it stats when the
 * type is unknown), and the one common filesystem without it is xfs made with ftype=0, so xfs is
 * asked through xfs_info; others are taken to have it.
 */
export function supportsDType(home: string, fsName: string): boolean {
  if (fsName !== 'xfs') return true;
  const r = spawnSync('xfs_info', [home], { encoding: 'utf8' });
  const m = /ftype=(\d)/.exec(r.stdout ?? '');
  return m ? m[1] === '1' : true;
}
