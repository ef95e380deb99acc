// A worker thread with a working directory (and root) of its own: unshare(CLONE_FS) detaches this
// thread's fs_struct from the process, so its chdir/chroot touch nobody else — not the main
// thread, not the libuv pool. runPlan keeps one such thread (unref'd) for steps with `cwd`, which
// makes them cost a message round trip instead of a `node` process start (~40 ms idle, far more
// on a loaded machine). Nothing here may start threads after the unshare: they would share it.
import { constants as fsc, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { MountStep } from '@ovl/mountopts';
import { O_PATH } from './constants.js';
import { SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';
import { chroot } from './mount.js';
import { execStep } from './step-exec.js';

const CLONE_FS = 0x200;

export interface ThreadRequest {
  id: number;
  step: MountStep;
  /** descriptor numbers of openDirs (the fd table is shared by all threads) */
  fds: number[];
}

export type ThreadReply =
  | { id: number; ok: true }
  | {
      id: number;
      ok: false;
      errno?: number;
      syscall?: string;
      path?: string;
      message: string;
      fatal?: boolean;
    };

function chdir(path: string): void {
  if (fn('int chdir(const char *)')(path) < 0) throw new SyscallError(lastErrno(), 'chdir', path);
}
function fchdir(fd: number): void {
  if (fn('int fchdir(int)')(fd) < 0) throw new SyscallError(lastErrno(), 'fchdir');
}

function start(port: NonNullable<typeof parentPort>): void {
  if (fn('int unshare(int)')(CLONE_FS) < 0) {
    const errno = lastErrno();
    port.postMessage({
      id: 0,
      ok: false,
      fatal: true,
      errno,
      message: `unshare(CLONE_FS) failed: errno ${errno}`,
    });
    return;
  }
  // A handle on the real root, to climb back out after a chroot step.
  const rootFd = openSync('/', O_PATH | fsc.O_DIRECTORY);
  port.postMessage({ id: 0, ok: true } satisfies ThreadReply);
  port.on('message', (req: ThreadRequest) => {
    let reply: ThreadReply;
    let chrooted = false;
    try {
      const { step } = req;
      if (step.cwd) {
        if (step.kind === 'mount' && step.chroot) {
          chroot(step.cwd);
          chrooted = true;
          chdir('/');
        } else chdir(step.cwd);
      }
      execStep(step, req.fds);
      reply = { id: req.id, ok: true };
    } catch (e) {
      const err = e as Error & Partial<SyscallError>;
      reply = {
        id: req.id,
        ok: false,
        errno: typeof err.errno === 'number' ? -err.errno : undefined,
        syscall: err.syscall,
        path: err.path,
        message: String(err.message ?? err),
      };
    }
    try {
      if (chrooted) {
        fchdir(rootFd);
        chroot('.');
      }
      chdir('/');
    } catch (e) {
      // Cannot get back to the real root: this thread is no use any more; the parent replaces it.
      port.postMessage(reply);
      port.postMessage({
        id: 0,
        ok: false,
        fatal: true,
        message: `leaving chroot failed: ${(e as Error).message}`,
      });
      process.exit(1);
    }
    port.postMessage(reply);
  });
}

if (parentPort) start(parentPort);
