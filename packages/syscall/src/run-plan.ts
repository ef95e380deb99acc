// Executes a MountPlan: steps in order; a step with `cwd` (or chroot, or openDirs) in a short-lived
// child process so that the caller's working directory never changes (it is per process, and
// Node's thread pool resolves relative paths against it at any moment). On failure, whatever the
// plan already mounted is detached again and the error names the failing step.
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MountPlan, MountStep } from '@ovl/mountopts';
import { MNT_DETACH, MS_MOVE, MS_REMOUNT } from './constants.js';
import { SyscallError } from './errors.js';
import { umount2 } from './mount.js';
import { runOnMountThread } from './mount-thread-client.js';
import { tooManyLayersHint } from './overlay-limits.js';
import type { HelperReply, HelperRequest } from './plan-helper.js';
import { siblingScript } from './sibling-script.js';
import { describeStep, execStep, openPathDirs } from './step-exec.js';

/** How a plan's steps reach the kernel; the native one and the recording one differ only here. */
export interface StepRunner {
  run(step: MountStep, index: number): void | Promise<void>;
  /** undo a mount of this plan (MNT_DETACH) */
  detach(target: string): void;
}

/** Where a step's target ends up, as an absolute path in the caller's view. */
export function absoluteTarget(step: MountStep): string {
  if (!step.cwd) return resolve(step.target);
  if (step.kind === 'mount' && step.chroot) return join(step.cwd, step.target);
  return resolve(step.cwd, step.target);
}

/** True when the step attaches a new mount (rather than changing one: remount, move). */
function attaches(step: MountStep): boolean {
  return step.kind === 'fsconfig' || (step.flags & (MS_REMOUNT | MS_MOVE)) === 0;
}

/** The runPlan algorithm over any StepRunner: in order, roll back on failure, name the step. */
export async function runPlanWith(plan: MountPlan, runner: StepRunner): Promise<void> {
  const mounted: string[] = [];
  for (const [i, step] of plan.steps.entries()) {
    try {
      await runner.run(step, i);
    } catch (e) {
      const undone: string[] = [];
      for (const target of mounted.reverse()) {
        try {
          runner.detach(target);
          undone.push(target);
        } catch {
          // keep undoing the rest; the original error is what the caller needs
        }
      }
      throw stepError(e, plan, i, undone);
    }
    if (attaches(step)) mounted.push(absoluteTarget(step));
  }
}

function stepError(e: unknown, plan: MountPlan, i: number, undone: string[]): SyscallError {
  const step = plan.steps[i] as MountStep;
  const inner = e instanceof Error ? e.message : String(e);
  const what = `runPlan (${plan.strategy}) step ${i + 1} of ${plan.steps.length}, ${describeStep(step)}: ${inner.replace(/^E[A-Z0-9]+: /, '')}${
    undone.length ? ` (detached again: ${undone.join(', ')})` : ''
  }`;
  const se = e as Partial<SyscallError>;
  const errno = typeof se.errno === 'number' ? se.errno : -22;
  const depth = se.code === 'EINVAL' ? tooManyLayersHint(step) : '';
  // The inner message already carries its own hint; keep it as the whole text.
  return new SyscallError(errno, se.syscall ?? step.kind, se.path ?? step.target, {
    what: depth ? `${depth}. ${what}` : what,
    hint: '',
    step: i,
    cause: e,
  });
}

export type Isolation = 'auto' | 'thread' | 'process';

/**
 * The native runner: steps without cwd/chroot/openDirs run right here; the others on the mount
 * thread (its own cwd, see mount-thread.ts) or, with isolation 'process' or where no such thread
 * can be made, in a short-lived child process.
 */
export function nativeStepRunner(isolation: Isolation = 'auto'): StepRunner {
  return {
    async run(step) {
      const needsIsolation = step.cwd !== undefined || (step.kind === 'mount' && !!step.openDirs?.length);
      if (!needsIsolation) return execStep(step);
      if (isolation !== 'process') {
        const dirs = step.kind === 'mount' ? (step.openDirs ?? []) : [];
        const fds = openPathDirs(dirs.map((d) => resolveIn(step, d)));
        try {
          // The planner sized {{fd:N}} for numbers below openDirs.length + FD_HEADROOM (1024); in a
          // process holding many descriptors ours may be larger, and the child (fds 3, 4, …) fits.
          const fits = fds.every((fd) => fd < dirs.length + 1024);
          if ((fits || isolation === 'thread') && (await runOnMountThread(step, fds, isolation === 'thread')))
            return;
        } finally {
          for (const fd of fds) closeSync(fd);
        }
      }
      return runInChild(step);
    },
    detach(target) {
      umount2(target, MNT_DETACH);
    },
  };
}

function resolveIn(step: MountStep, dir: string): string {
  return step.cwd && step.cwd !== '/proc/self/fd' ? resolve(step.cwd, dir) : resolve(dir);
}

export interface RunPlanOptions {
  /** run through these instead of the kernel (e.g. the recording implementation) */
  syscalls?: { runPlan(plan: MountPlan): Promise<void> };
  /**
   * Where steps with `cwd` run: 'thread' on a worker thread that unshared its working directory
   * from the process (kept for later plans, unref'd), 'process' in a short-lived `node` child,
   * 'auto' (default) the thread when one can be made, else the child. Either way the caller's
   * working directory never changes.
   */
  isolation?: Isolation;
}

/**
 * Executes a MountPlan from @ovl/mountopts. Resolves when every step has run; on failure detaches
 * what the plan mounted and rejects with a SyscallError whose message names the failing step
 * (`step` holds its index).
 */
export async function runPlan(plan: MountPlan, opts: RunPlanOptions = {}): Promise<void> {
  if (opts.syscalls) return opts.syscalls.runPlan(plan);
  return runPlanWith(plan, nativeStepRunner(opts.isolation));
}

/** Runs one step in a child: the parent opens openDirs (O_PATH) and passes them as fds 3, 4, …. */
async function runInChild(step: MountStep): Promise<void> {
  const dirs = step.kind === 'mount' ? (step.openDirs ?? []) : [];
  const fds = openPathDirs(dirs.map((d) => resolveIn(step, d)));
  try {
    const helper = siblingScript('plan-helper');
    const req: HelperRequest = { step, fds: fds.map((_, i) => 3 + i) };
    const child = spawn(process.execPath, [...helper.execArgv, helper.script], {
      stdio: ['pipe', 'pipe', 'pipe', ...fds],
    });
    let out = '';
    let errText = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      errText += c;
    });
    child.stdin?.end(JSON.stringify(req));
    const code = await new Promise<number | null>((res, rej) => {
      child.once('error', rej);
      child.once('close', (c) => res(c));
    });
    let reply: HelperReply | undefined;
    try {
      reply = JSON.parse(out) as HelperReply;
    } catch {
      reply = undefined;
    }
    if (!reply) {
      throw new SyscallError(-5, 'spawn', helper.script, {
        what: `mount helper exited with ${code} and no reply: ${errText.trim().slice(-800)}`,
        hint: 'Check that the package was installed completely (dist/plan-helper.js)',
      });
    }
    if (!reply.ok) {
      const e = new SyscallError(reply.errno ?? 5, reply.syscall ?? 'mount', reply.path, { hint: '' });
      e.message = reply.message;
      throw e;
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
