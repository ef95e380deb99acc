// What a real union mount shows, and what it should show: the tree read file by file through a mount point,
// the tree a stack of aufs branches should merge to (their layer tars applied bottom up with @ovl/tar's
// 'flatten' rules), and the mount table entries below a directory. Used by the real aufs harness; proven on
// a real overlayfs mount in merged-tree.test.ts, since this kernel has no aufs.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type MountInfo, readMountinfo } from '@ovl/syscall';
import { apply, diff as tarDiff } from '@ovl/tar';
import * as assert from 'uvu/assert';
import { treeLines } from './tree.js';

/**
 * aufs reserves the `.wh.` prefix: whiteouts, `.wh..wh..opq` and its own `.wh..wh.plnk/aufs/orph` never show
 * in a union's readdir, and no file by such a name can be created through one. So nothing a container could
 * see is lost by leaving them out of a tree read through a mount.
 */
export const reservedByAufs = (name: string) => name.startsWith('.wh.');

/** The tree seen through a mount point, read entry by entry (kind, mode, owner, content or link target). */
export function readMergedTree(point: string): string[] {
  return treeLines(point, reservedByAufs);
}

/**
 * The tree the branches (top first, as a mount lists them) should merge to: each branch's layer tar in aufs
 * format, applied bottom first into a scratch dir under `scratch` with the 'flatten' whiteout rules.
 */
export async function flattenedTree(stackTopFirst: string[], scratch: string): Promise<string[]> {
  const into = mkdtempSync(join(scratch, 'flatten-'));
  try {
    for (const branch of [...stackTopFirst].reverse())
      await apply(tarDiff({ upper: branch, format: 'aufs' }), into, { format: 'flatten' });
    return treeLines(into);
  } finally {
    rmSync(into, { recursive: true, force: true });
  }
}

/** The mount through `point` shows exactly what its branches merge to. */
export async function assertMergedTree(
  point: string,
  stackTopFirst: string[],
  scratch: string,
  msg = `the tree through ${point}`,
): Promise<void> {
  assert.equal(readMergedTree(point), await flattenedTree(stackTopFirst, scratch), msg);
}

/** The topmost mount at `point` in this process's mount table (/proc/self/mountinfo), if any. */
export function mountAt(point: string, table: MountInfo[] = readMountinfo()): MountInfo | undefined {
  let real: string;
  try {
    real = realpathSync(point);
  } catch {
    return undefined;
  }
  return table.filter((m) => m.mountPoint === real).at(-1);
}

/** Every mount whose mount point lies strictly below `dir`, in mount order. */
export function mountsBelow(dir: string, table: MountInfo[] = readMountinfo()): MountInfo[] {
  const prefix = `${realpathSync(dir)}/`;
  return table.filter((m) => m.mountPoint.startsWith(prefix));
}
