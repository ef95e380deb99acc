import { type MountPlan, MS_RDONLY, planAufsMount } from '@ovl/mountopts';
import { runPlan, type Syscalls } from '@ovl/syscall';
import { AufsError } from './errors.js';

export interface AufsMountRequest {
  target: string;
  /** the layer's own diff dir, mounted `=rw` on top */
  rw: string;
  /** the parents' diff dirs, nearest first, each mounted `=ro+wh` */
  ro: string[];
  label?: string;
  dirperm1?: boolean;
  xino?: string;
  pageSize: number;
  syscalls: Syscalls;
  /** MS_RDONLY on every step: a remount without it would make the mount writable again */
  readOnly?: boolean;
}

/**
 * Mounts an aufs stack the seeds' way, through @ovl/mountopts' plan (a first mount that fills one page, then
 * `append:` remounts for the remaining branches) run by @ovl/syscall's runPlan, which unmounts the target
 * again when a later step fails. Failures come back as ERR_OVL_MOUNT_FAILED with the step in the message.
 */
export async function mountAufsStack(req: AufsMountRequest): Promise<void> {
  const planned = planAufsMount({
    target: req.target,
    rw: req.rw,
    ro: req.ro,
    label: req.label,
    dirperm1: req.dirperm1,
    xino: req.xino,
    pageSize: req.pageSize,
  });
  const plan: MountPlan = req.readOnly
    ? {
        ...planned,
        steps: planned.steps.map((s) => (s.kind === 'mount' ? { ...s, flags: s.flags | MS_RDONLY } : s)),
      }
    : planned;
  try {
    await runPlan(plan, { syscalls: req.syscalls });
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const step = (cause as { step?: unknown }).step;
    throw new AufsError(
      'ERR_OVL_MOUNT_FAILED',
      `mounting the aufs stack of ${req.ro.length + 1} branches at ${req.target} failed (${plan.steps.length} ` +
        `planned steps; nothing is left mounted): ${why}. Check that every branch exists and that the ` +
        'running aufs accepts the options (dirperm1 needs aufs 3.13+).',
      { path: req.target, cause, step: typeof step === 'number' ? step : undefined },
    );
  }
}

/** Unmounts an aufs mount point; ERR_OVL_UNMOUNT_FAILED (with the errno as cause) when the kernel refuses. */
export function unmountAufs(syscalls: Syscalls, target: string, id?: string, flags = 0): void {
  try {
    syscalls.umount2(target, flags);
  } catch (cause) {
    throw new AufsError(
      'ERR_OVL_UNMOUNT_FAILED',
      `unmounting ${target} failed; stop the processes that use it and call put/cleanup again`,
      { id, path: target, cause },
    );
  }
}
