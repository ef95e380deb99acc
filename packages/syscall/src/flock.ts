// flock(2): the one lock that gives mutual exclusion between processes *and* releases itself when the
// holder dies (even by SIGKILL), which reference counts shared between processes need. Node has none.
import { SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const EWOULDBLOCK = 11;
const EINTR = 4;

/**
 * flock(2) on an open descriptor. With LOCK_NB a lock another holder has is `false` (EWOULDBLOCK), so
 * callers can poll without blocking the event loop; `true` when taken or released. Any other failure
 * (EBADF, ENOLCK…) throws a SyscallError. Locks belong to the open file description, so two
 * descriptors of one file in one process exclude each other too. Synchronous.
 */
export function flock(fd: number, operation: number, path?: string): boolean {
  for (;;) {
    if (fn('int flock(int, int)')(fd, operation) === 0) return true;
    const errno = lastErrno();
    if (errno === EINTR) continue;
    if (errno === EWOULDBLOCK && operation & LOCK_NB) return false;
    throw new SyscallError(errno, 'flock', path);
  }
}
