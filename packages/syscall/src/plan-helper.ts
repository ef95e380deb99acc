// The short-lived child of runPlan for steps that need a working directory (or root) of their own:
// it changes directory (and chroots when asked), runs the one step, and reports on stdout as JSON.
// Directories named by openDirs arrive already open, as descriptors 3, 4, 5, … (the parent passes
// them as extra stdio), so their numbers are known before the child starts.
import { readFileSync } from 'node:fs';
import type { MountStep } from '@ovl/mountopts';
import { SyscallError } from './errors.js';
import { chroot } from './mount.js';
import { execStep } from './step-exec.js';

export interface HelperRequest {
  step: MountStep;
  /** descriptor numbers of openDirs in this process */
  fds: number[];
}

export type HelperReply =
  | { ok: true }
  | {
      ok: false;
      errno?: number;
      syscall?: string;
      path?: string;
      message: string;
    };

function main(): void {
  let reply: HelperReply;
  try {
    const req = JSON.parse(readFileSync(0, 'utf8')) as HelperRequest;
    const { step } = req;
    if (step.cwd) {
      if (step.kind === 'mount' && step.chroot) {
        chroot(step.cwd);
        process.chdir('/');
      } else process.chdir(step.cwd);
    }
    execStep(step, req.fds);
    reply = { ok: true };
  } catch (e) {
    const err = e as Partial<SyscallError> & Error;
    reply =
      err instanceof SyscallError
        ? { ok: false, errno: -err.errno, syscall: err.syscall, path: err.path, message: err.message }
        : { ok: false, errno: (err as NodeJS.ErrnoException).errno, message: String(err.message ?? err) };
  }
  process.stdout.write(JSON.stringify(reply));
}

main();
