import type { Syscalls } from '@ovl/syscall';
import {
  MS_BIND,
  MS_NOATIME,
  MS_NODEV,
  MS_NODIRATIME,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
} from '@ovl/syscall';

// Options that mount(8) turns into per-mount MS_* flags; overlayfs itself refuses them in its data
// (EINVAL), so `overlay.mountopt=nodev` must become a flag, as containers/storage's ParseOptions does.
const FLAG_OPTIONS: Record<string, number> = {
  ro: MS_RDONLY,
  nosuid: MS_NOSUID,
  nodev: MS_NODEV,
  noexec: MS_NOEXEC,
  noatime: MS_NOATIME,
  nodiratime: MS_NODIRATIME,
};
// Their opposites are the defaults: accepted and dropped.
const DEFAULTS = new Set(['rw', 'suid', 'dev', 'exec', 'atime', 'diratime', 'relatime', 'defaults']);

/** Splits mount options into per-mount flags and the options that go into overlay's data. */
export function splitMountFlags(options: readonly string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAG_OPTIONS[o];
    if (f !== undefined) flags |= f;
    else if (!DEFAULTS.has(o)) data.push(o);
  }
  return { flags, data };
}

/**
 * Applies per-mount flags to a finished mount by a bind remount, which works the same whichever
 * strategy made the mount (mount(2) data or fsconfig).
 */
export function applyMountFlags(sys: Pick<Syscalls, 'mount'>, target: string, flags: number): void {
  if (flags === 0) return;
  sys.mount('none', target, '', MS_REMOUNT | MS_BIND | flags);
}
