import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Syscalls } from '@ovl/syscall';
import { stagingPath } from './staging-name.js';

/**
 * Whether the running aufs accepts `dirperm1` (aufs 3.13+; directory permissions come from the top branch
 * only, which non-root users of a container need). Like Docker, find out by mounting a throw-away
 * one-branch aufs with the option in `dir`, then unmounting it.
 */
export async function probeDirperm1(dir: string, syscalls: Syscalls): Promise<boolean> {
  const probe = stagingPath(dir, 'dirperm1');
  const base = join(probe, 'base');
  const union = join(probe, 'union');
  await mkdir(base, { recursive: true });
  await mkdir(union, { recursive: true });
  try {
    syscalls.mount('none', union, 'aufs', 0, `br:${base}=rw,dirperm1`);
  } catch {
    await rm(probe, { recursive: true, force: true });
    return false;
  }
  try {
    syscalls.umount2(union, 0);
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
  return true;
}
