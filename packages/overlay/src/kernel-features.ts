import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr, lsetxattr, type Syscalls } from '@ovl/syscall';

/** What the running kernel's overlayfs does, probed once per store by real test mounts. */
export interface OverlayKernelFeatures {
  /** fsconfig `lowerdir+` (6.8+) */
  lowerdirPlus: boolean;
  /** FSCONFIG_SET_FD layers (6.13+) */
  setFd: boolean;
  userxattr: boolean;
  metacopy: boolean;
  redirectDir: boolean;
  volatile: boolean;
  /** the `index` option exists (we mount with index=off so that layers can be shared) */
  index: boolean;
  /** the upper dir alone is a correct diff (no redirect/metacopy/opaque copy-up surprises) */
  nativeDiff: boolean;
  /** why nativeDiff is false */
  nativeDiffReason?: string;
}

type Sys = Pick<Syscalls, 'mount' | 'umount2' | 'probeOverlayFeatures'>;

function tryMount(sys: Sys, dir: string, data: string): boolean {
  const merged = join(dir, 'merged');
  freshDirs(dir);
  try {
    sys.mount('overlay', merged, 'overlay', 0, data);
  } catch {
    return false;
  }
  sys.umount2(merged, 2 /* MNT_DETACH */);
  return true;
}

function freshDirs(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['l1/d', 'l1/d1', 'l2/d', 'l3', 'work', 'merged'])
    mkdirSync(join(dir, d), { recursive: true });
}

/**
 * containers/storage's doesSupportNativeDiff, in our words: mount l2:l1 with upper l3, where l2/d is
 * opaque. (1) Writing into d copies it up; if the copy in l3 carries the opaque xattr, an upper-only
 * diff would wrongly hide l1/d. (2) Renaming a lower dir d1 → d2: with redirect_dir the upper holds a
 * redirect xattr, which a tar of the upper cannot express. (3) With metacopy a chmod leaves a
 * metadata-only file in the upper. Any of these makes the native diff wrong.
 */
function probeNativeDiff(sys: Sys, dir: string, extra: string, userxattr: boolean): string | undefined {
  freshDirs(dir);
  const ns = userxattr ? 'user.overlay.' : 'trusted.overlay.';
  lsetxattr(join(dir, 'l2/d'), `${ns}opaque`, 'y');
  writeFileSync(join(dir, 'l1/f'), 'x');
  const merged = join(dir, 'merged');
  const data = `lowerdir=${dir}/l2:${dir}/l1,upperdir=${dir}/l3,workdir=${dir}/work${extra}`;
  try {
    sys.mount('overlay', merged, 'overlay', 0, data);
  } catch (err) {
    return `test mount failed: ${(err as Error).message}`;
  }
  try {
    writeFileSync(join(merged, 'd/f'), 'x');
    chmodSync(join(merged, 'f'), 0o600);
    try {
      renameSync(join(merged, 'd1'), join(merged, 'd2'));
    } catch (err) {
      // without redirect_dir, renaming a lower dir is refused with EXDEV: that is the good case
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    }
  } catch (err) {
    return `test writes failed: ${(err as Error).message}`;
  } finally {
    sys.umount2(merged, 2);
  }
  const xattr = (p: string, name: string) => {
    try {
      return lgetxattr(join(dir, p), `${ns}${name}`);
    } catch {
      return undefined; // the file was not copied up at all
    }
  };
  if (xattr('l3/d', 'opaque')?.toString() === 'y') return 'opaque flag copied up';
  if (xattr('l3/d2', 'redirect') !== undefined) return 'redirect_dir is enabled';
  if (xattr('l3/f', 'metacopy') !== undefined) return 'metacopy is enabled';
  return undefined;
}

/**
 * Probes every feature with real mounts inside `dir` (created and removed here; it must be on the
 * store's filesystem). `extra` are the driver's mount options (",opt,..."), used for the diff probe.
 */
export function probeKernelFeatures(
  sys: Sys,
  dir: string,
  extra = '',
  userxattr = false,
): OverlayKernelFeatures {
  try {
    freshDirs(dir);
    const lower = `lowerdir=${dir}/l2:${dir}/l1`;
    const rw = `lowerdir=${dir}/l1,upperdir=${dir}/l3,workdir=${dir}/work`;
    const fsc = sys.probeOverlayFeatures();
    const features: OverlayKernelFeatures = {
      lowerdirPlus: fsc.lowerdirPlus,
      setFd: fsc.setFd,
      userxattr: tryMount(sys, dir, `${lower},userxattr`),
      metacopy: tryMount(sys, dir, `${rw},metacopy=on`),
      redirectDir: tryMount(sys, dir, `${rw},redirect_dir=on`),
      volatile: tryMount(sys, dir, `${rw},volatile`),
      index: tryMount(sys, dir, `${rw},index=off`),
      nativeDiff: false,
    };
    const idx = features.index ? ',index=off' : '';
    const reason = probeNativeDiff(sys, dir, `${idx}${extra}${userxattr ? ',userxattr' : ''}`, userxattr);
    features.nativeDiff = reason === undefined;
    if (reason !== undefined) features.nativeDiffReason = reason;
    return features;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
