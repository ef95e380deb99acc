// mount(2), umount2(2), chroot(2), getpagesize(2). All synchronous: each is one short system call
// (~0.5 ms for an overlay mount, 29 ns of koffi overhead), cheaper than a thread-pool hand-off.
import { check, SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';
import { tooManyLayersHint } from './overlay-limits.js';

/**
 * mount(2). `data` is passed as-is (the kernel reads at most one page of it, NUL included, and
 * silently truncates the rest, so this refuses data of page size bytes or more). Synchronous.
 */
export function mount(source: string, target: string, fstype: string, flags = 0, data?: string): void {
  const bytes = data === undefined ? 0 : Buffer.byteLength(data);
  const what = describeMount(source, target, fstype, flags, data);
  if (data !== undefined && bytes >= getPageSize()) {
    throw new SyscallError(22, 'mount', target, {
      what,
      hint: `The data is ${bytes} bytes but the kernel keeps only ${getPageSize() - 1}: use a plan from @ovl/mountopts (fd-relative or fsconfig strategy)`,
    });
  }
  const f = fn('int mount(const char *, const char *, const char *, unsigned long, const char *)');
  const ret = f(source, target, fstype, flags, data ?? null);
  if (ret < 0) {
    const errno = lastErrno();
    const step = { kind: 'mount' as const, source, target, fstype, flags, data: data ?? '' };
    const depth = errno === 22 ? tooManyLayersHint(step) : '';
    throw new SyscallError(errno, 'mount', target, { what, dest: source, ...(depth ? { hint: depth } : {}) });
  }
}

/** What a mount call tried, for error messages: type, target, flags and the data with its length. */
export function describeMount(source: string, target: string, fstype: string, flags: number, data?: string) {
  const bytes = data === undefined ? 0 : Buffer.byteLength(data);
  const flagText = flags ? ` flags 0x${flags.toString(16)}` : '';
  // Long data is shown by its head and its tail: options that go wrong usually come last, after the layers.
  const text = data === undefined || data.length <= 1000 ? data : `${data.slice(0, 300)}…${data.slice(-600)}`;
  const shown = data === undefined ? '' : `, data ${bytes} bytes: "${text}"`;
  return `mount ${fstype} '${source}' on '${target}'${flagText}${shown}`;
}

/** umount2(2) with MNT_DETACH / MNT_FORCE / UMOUNT_NOFOLLOW. Synchronous. */
export function umount2(target: string, flags = 0): void {
  const ret = fn('int umount2(const char *, int)')(target, flags);
  check(ret, lastErrno(), 'umount2', target, {
    what: `umount2 '${target}'${flags ? ` flags 0x${flags.toString(16)}` : ''}`,
  });
}

/** chroot(2): changes the root of the whole process (every thread). Synchronous. */
export function chroot(path: string): void {
  check(fn('int chroot(const char *)')(path), lastErrno(), 'chroot', path);
}

let pageSize: number | undefined;

/** The kernel page size (4096 on x64; 4K, 16K or 64K on arm64), read once. */
export function getPageSize(): number {
  pageSize ??= fn('int getpagesize()')();
  return pageSize;
}
