import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lgetxattr, llistxattr, MNT_DETACH, readMountinfo, umount2 } from '@ovl/syscall';

export const isRoot = process.getuid?.() === 0;

/** Prints why a test is skipped and returns true when it must be. */
export function skipUnlessRoot(what: string): boolean {
  if (isRoot) return false;
  console.log(`skip: ${what} needs root (real overlay mounts)`);
  return true;
}

/** A fresh temp dir; `done` unmounts anything left under it (deepest first), then deletes it. */
export function tempHome(prefix = 'ovl-overlay-'): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    done: () => {
      for (const p of mountsUnder(dir)) {
        try {
          umount2(p, MNT_DETACH);
        } catch {}
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readMountinfo()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** How many times `path` is mounted. */
export function mountCount(path: string): number {
  return readMountinfo().filter((m) => m.mountPoint === path).length;
}

/** Everything a user would compare about a tree: type, mode, owner, content, link target, device, xattrs. */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs);
    const xattrs = llistxattr(abs)
      .filter((n) => !n.startsWith('trusted.overlay.') && !n.startsWith('security.'))
      .sort()
      .map((n) => `${n}=${lgetxattr(abs, n)?.toString('hex')}`)
      .join(',');
    let desc = `mode=${st.mode.toString(8)} owner=${st.uid}:${st.gid}`;
    if (st.isFile()) {
      desc += ` sha=${createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16)}`;
      if (st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first) desc += ` link=${first}`;
        else inodes.set(st.ino, rel);
      }
    }
    if (st.isSymbolicLink()) desc += ` -> ${readlinkSync(abs)}`;
    if (st.isCharacterDevice() || st.isBlockDevice()) desc += ` rdev=${st.rdev}`;
    if (xattrs) desc += ` xattrs=${xattrs}`;
    if (rel !== '') out[rel] = desc;
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) walk(rel === '' ? n : `${rel}/${n}`);
  };
  walk('');
  return out;
}

/** Runs `fn` and returns the error it throws. */
export async function rejects(fn: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected an error, got none');
}
