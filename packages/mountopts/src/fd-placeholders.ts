// fd-relative plans name each layer by the number of a descriptor the executor opens in a child process
// (the plan cannot know the numbers). The data holds `{{fd:N}}` for openDirs[N]; the executor fills in the
// numbers and mounts from /proc/self/fd, where each number is a link to its directory.

import { MountOptsError } from './errors.js';

/**
 * How many descriptors beyond its openDirs the executor's child may hold open. The planner sizes every
 * placeholder as the widest number below `openDirs.length + FD_HEADROOM`, so the filled data can only be
 * shorter than what it measured: the executor must keep every descriptor it substitutes below that bound
 * (a fresh child holds stdio and a few more).
 */
export const FD_HEADROOM = 1024;

/** The placeholder for openDirs[index]. */
export function fdPlaceholder(index: number): string {
  return `{{fd:${index}}}`;
}

/** Digits of the widest descriptor number a plan with `count` openDirs may receive. */
export function fdDigits(count: number): number {
  return String(count - 1 + FD_HEADROOM).length;
}

const PLACEHOLDER = /\{\{fd:(\d+)\}\}/g;

/**
 * Replace every `{{fd:N}}` in `data` by `fds[N]`. Executors call this after opening openDirs in order;
 * tests call it with made-up numbers to see the data the kernel would get.
 */
export function fillFdPlaceholders(data: string, fds: readonly number[]): string {
  return data.replace(PLACEHOLDER, (_m, n: string) => {
    const fd = fds[Number(n)];
    if (fd === undefined || !Number.isInteger(fd) || fd < 0) {
      throw new MountOptsError('ERR_OVL_BAD_OPTION', `no descriptor given for placeholder {{fd:${n}}}`, {
        option: `fd:${n}`,
      });
    }
    return String(fd);
  });
}
