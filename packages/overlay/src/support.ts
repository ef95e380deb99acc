import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { lsetxattr, type StatFs, type Syscalls } from '@ovl/syscall';
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

/**
 * With `userxattr` overlayfs keeps whiteout and opaque marks in `user.overlay.*` xattrs, so the store's
 * file system must hold user.* xattrs. tmpfs does only from Linux 6.6, and overlay still mounts without
 * them (it warns in dmesg) — then opaque dirs silently lose their mark. Refused here instead.
 */
export function checkUserXattrs(home: string, fsName: string, probeName: string): void {
  const probe = join(home, probeName);
  closeSync(openSync(probe, 'w', 0o600));
  try {
    lsetxattr(probe, 'user.ovl.probe', 'y');
  } catch (err) {
    throw new OverlayError(
      'ERR_OVL_NOT_SUPPORTED',
      `overlay.userxattr: ${home} (${fsName}) cannot store user.* xattrs (${(err as { code?: string }).code}), where overlayfs keeps whiteouts and opaque dirs with userxattr; put the store on ext4, xfs or btrfs${fsName === 'tmpfs' ? ' (tmpfs has user.* xattrs from Linux 6.6)' : ''}, or drop userxattr`,
      { path: home, cause: err },
    );
  } finally {
    rmSync(probe, { force: true });
  }
}
