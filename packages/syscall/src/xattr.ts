// l*xattr(2): extended attributes of the path itself (a symlink's own, never its target's). Node
// has no xattr API; overlay keeps opaque directories and redirects in trusted.overlay.* (or
// user.overlay.* with userxattr) and layer tarballs carry security.capability and friends.
import { check, SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';

const ENODATA = 61;
const ERANGE = 34;

/** lsetxattr(2). `flags`: 0, XATTR_CREATE or XATTR_REPLACE. Synchronous. */
export function lsetxattr(path: string, name: string, value: Buffer | string, flags = 0): void {
  const buf = typeof value === 'string' ? Buffer.from(value) : value;
  const f = fn('int lsetxattr(const char *, const char *, const void *, size_t, int)');
  check(f(path, name, buf, buf.length, flags), lastErrno(), 'lsetxattr', path, {
    what: `lsetxattr '${path}' ${name} (${buf.length} bytes)`,
  });
}

/** lgetxattr(2): the value, or undefined when the attribute is absent. Synchronous. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const f = fn('long lgetxattr(const char *, const char *, void *, size_t)');
  // Ask for the size, then read; retry if the value grew in between (ERANGE).
  for (;;) {
    const size = f(path, name, null, 0);
    if (size < 0) {
      const errno = lastErrno();
      if (errno === ENODATA) return undefined;
      throw new SyscallError(errno, 'lgetxattr', path, { what: `lgetxattr '${path}' ${name}` });
    }
    const buf = Buffer.alloc(size);
    if (size === 0) return buf;
    const got = f(path, name, buf, size);
    if (got >= 0) return buf.subarray(0, got);
    const errno = lastErrno();
    if (errno === ENODATA) return undefined;
    if (errno !== ERANGE)
      throw new SyscallError(errno, 'lgetxattr', path, { what: `lgetxattr '${path}' ${name}` });
  }
}

/** llistxattr(2): the attribute names (only those this process may see). Synchronous. */
export function llistxattr(path: string): string[] {
  const f = fn('long llistxattr(const char *, void *, size_t)');
  for (;;) {
    const size = check(f(path, null, 0), lastErrno(), 'llistxattr', path);
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const got = f(path, buf, size);
    if (got < 0) {
      const errno = lastErrno();
      if (errno === ERANGE) continue;
      throw new SyscallError(errno, 'llistxattr', path);
    }
    return buf.subarray(0, got).toString().split('\0').filter(Boolean);
  }
}

/** lremovexattr(2). Synchronous. */
export function lremovexattr(path: string, name: string): void {
  check(fn('int lremovexattr(const char *, const char *)')(path, name), lastErrno(), 'lremovexattr', path, {
    what: `lremovexattr '${path}' ${name}`,
  });
}

/**
 * flistxattr(2): the attribute names of an open file. For a reader that opens the file anyway: no path
 * lookup (on 100,000 files five levels down llistxattr by path took ~1.7 µs a call). Synchronous.
 */
export function flistxattr(fd: number): string[] {
  const f = fn('long flistxattr(int, void *, size_t)');
  for (;;) {
    const size = check(f(fd, null, 0), lastErrno(), 'flistxattr', undefined, { what: `flistxattr fd ${fd}` });
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const got = f(fd, buf, size);
    if (got < 0) {
      const errno = lastErrno();
      if (errno === ERANGE) continue;
      throw new SyscallError(errno, 'flistxattr', undefined, { what: `flistxattr fd ${fd}` });
    }
    return buf.subarray(0, got).toString().split('\0').filter(Boolean);
  }
}

/** fgetxattr(2): the value on an open file, or undefined when the attribute is absent. Synchronous. */
export function fgetxattr(fd: number, name: string): Buffer | undefined {
  const f = fn('long fgetxattr(int, const char *, void *, size_t)');
  for (;;) {
    const size = f(fd, name, null, 0);
    if (size < 0) {
      const errno = lastErrno();
      if (errno === ENODATA) return undefined;
      throw new SyscallError(errno, 'fgetxattr', undefined, { what: `fgetxattr fd ${fd} ${name}` });
    }
    const buf = Buffer.alloc(size);
    if (size === 0) return buf;
    const got = f(fd, name, buf, size);
    if (got >= 0) return buf.subarray(0, got);
    const errno = lastErrno();
    if (errno === ENODATA) return undefined;
    if (errno !== ERANGE)
      throw new SyscallError(errno, 'fgetxattr', undefined, { what: `fgetxattr fd ${fd} ${name}` });
  }
}
