// Thread priorities (setpriority(2) on a thread id): on Linux the nice value belongs to each thread,
// not to the process. Why @ovl/tar's callers may want it: on a 2-core machine a cold Node process runs
// V8's compiler and GC helpers on the same two cores as the thread doing the work, and every job the
// main thread posts wakes a helper that may preempt it. Process-wide in effect: a library must not call
// this on threads it does not own; see @ovl/tar's tuneProcess().
import { readdirSync, readFileSync } from 'node:fs';
import { SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';

const PRIO_PROCESS = 0;
/** syscall(2) number of gettid on x64 and arm64 (glibc < 2.30 has no wrapper). */
const SYS_GETTID: Record<string, number> = { x64: 186, arm64: 178 };

/** gettid(2): the calling thread's id (the process id on the main thread). */
export function gettid(): number {
  const nr = SYS_GETTID[process.arch];
  if (nr === undefined) throw new Error(`gettid: no syscall number known for ${process.arch}`);
  return fn('long syscall(long)')(nr);
}

/**
 * setpriority(2) for one thread: its nice value (-20 … 19). Raising it is always allowed; lowering it
 * needs CAP_SYS_NICE (or RLIMIT_NICE). Throws a SyscallError (ESRCH: no such thread, EACCES/EPERM).
 */
export function setThreadNice(tid: number, nice: number): void {
  if (!Number.isInteger(tid) || tid <= 0) throw new RangeError(`setThreadNice: bad thread id ${tid}`);
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    throw new RangeError(`setThreadNice: nice ${nice} is not an integer in -20 … 19`);
  }
  if (fn('int setpriority(int, uint32_t, int)')(PRIO_PROCESS, tid, nice) !== 0) {
    throw new SyscallError(lastErrno(), 'setpriority', undefined, {
      what: `setpriority thread ${tid} to ${nice}`,
    });
  }
}

/** The nice value of one of this process's threads, from /proc/self/task/<tid>/stat. */
export function threadNice(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, nice 19.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19 - 3]);
}

/** The ids of this process's threads now (threads come and go: a snapshot). */
export function threadIds(): number[] {
  return readdirSync('/proc/self/task').map(Number);
}
