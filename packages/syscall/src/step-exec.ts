// Executes one plan step in the calling process, assuming the working directory (and root) the
// step asks for are already in place. Used directly for steps without `cwd`, and by the child
// helper (plan-helper.ts) after it has changed directory.
import { closeSync, constants as fsc, openSync } from 'node:fs';
import type { FsconfigStep, MountCallStep, MountStep } from '@ovl/mountopts';
import { AT_FDCWD, MOVE_MOUNT_F_EMPTY_PATH, O_PATH } from './constants.js';
import { SyscallError } from './errors.js';
import { mount } from './mount.js';
import {
  fsconfigCreate,
  fsconfigSetFd,
  fsconfigSetFlag,
  fsconfigSetString,
  fsmount,
  fsopen,
  moveMount,
} from './new-mount-api.js';

/** Replaces `{{fd:N}}` with the descriptor number of openDirs[N]. */
export function substituteFds(s: string, fds: readonly number[]): string {
  return s.replace(/\{\{fd:(\d+)\}\}/g, (m, n: string) => {
    const fd = fds[Number(n)];
    if (fd === undefined) throw new Error(`placeholder ${m} has no openDirs entry`);
    return String(fd);
  });
}

/** Opens directories O_PATH (no read permission needed, nothing read): a handle to name them by. */
export function openPathDirs(dirs: readonly string[]): number[] {
  const fds: number[] = [];
  try {
    for (const d of dirs) {
      try {
        fds.push(openSync(d, O_PATH | fsc.O_DIRECTORY));
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new SyscallError(-(err.errno ?? 0), 'open', d, {
          what: `open layer directory '${d}' (O_PATH)`,
          cause: e,
        });
      }
    }
    return fds;
  } catch (e) {
    for (const fd of fds) closeSync(fd);
    throw e;
  }
}

/** mount(2) for a MountCallStep whose openDirs (if any) are already open as `fds`. */
export function execMountStep(step: MountCallStep, fds: readonly number[] = []): void {
  const sub = (s: string) => (fds.length ? substituteFds(s, fds) : s);
  mount(sub(step.source), sub(step.target), step.fstype, step.flags, sub(step.data));
}

/**
 * fsopen → fsconfig(params) → CMD_CREATE → fsmount → move_mount(F_EMPTY_PATH). Every descriptor
 * is closed whatever happens; nothing is attached until the final move_mount.
 */
export function execFsconfigStep(step: FsconfigStep): void {
  const fsfd = fsopen(step.fstype);
  let mntfd = -1;
  try {
    if (step.source) fsconfigSetString(fsfd, 'source', step.source);
    for (const p of step.params) {
      if (p.type === 'string') fsconfigSetString(fsfd, p.key, p.value);
      else if (p.type === 'flag') fsconfigSetFlag(fsfd, p.key);
      else {
        const [fd] = openPathDirs([p.path]);
        try {
          fsconfigSetFd(fsfd, p.key, fd as number);
        } finally {
          closeSync(fd as number);
        }
      }
    }
    fsconfigCreate(fsfd);
    mntfd = fsmount(fsfd);
    moveMount(mntfd, '', AT_FDCWD, step.target, MOVE_MOUNT_F_EMPTY_PATH);
  } finally {
    if (mntfd >= 0) closeSync(mntfd);
    closeSync(fsfd);
  }
}

export function execStep(step: MountStep, fds: readonly number[] = []): void {
  if (step.kind === 'fsconfig') execFsconfigStep(step);
  else execMountStep(step, fds);
}

/** What a step does, in a few words, for error messages. */
export function describeStep(step: MountStep): string {
  if (step.kind === 'fsconfig') {
    return `fsconfig ${step.fstype} on '${step.target}' (${step.params.length} params${step.cwd ? `, cwd '${step.cwd}'` : ''})`;
  }
  const where = step.cwd ? `, ${step.chroot ? 'chroot' : 'cwd'} '${step.cwd}'` : '';
  const dirs = step.openDirs?.length ? `, ${step.openDirs.length} openDirs` : '';
  return `mount ${step.fstype} on '${step.target}'${where}${dirs}`;
}
