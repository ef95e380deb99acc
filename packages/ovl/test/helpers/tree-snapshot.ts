// A tree as a user would compare it: every path with its type, mode, owner, size, content hash, link
// target, xattrs and hardlink group. Two trees are the same when their snapshots are deepEqual.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export interface EntrySnapshot {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  link?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  /** the first path (in sorted order) of the hardlink group this file belongs to */
  hardlinkOf?: string;
}

function typeOf(st: Stats): EntrySnapshot['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** xattrs of every path below root in one getfattr call (it is in Debian's attr package). */
function allXattrs(root: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let text = '';
  try {
    text = execFileSync('getfattr', ['-R', '-P', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
  } catch (err) {
    text = (err as { stdout?: string }).stdout ?? '';
  }
  let current = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice(8).replace(/\/$/, '');
    else if (line.includes('=')) {
      const i = line.indexOf('=');
      const name = line.slice(0, i);
      if (name.startsWith('security.selinux')) continue;
      const rec = out.get(current) ?? {};
      rec[name] = line.slice(i + 1);
      out.set(current, rec);
    }
  }
  return out;
}

export function snapshotTree(
  root: string,
  opts: { mtimes?: boolean } = {},
): Record<string, EntrySnapshot & { mtime?: number }> {
  const out: Record<string, EntrySnapshot & { mtime?: number }> = {};
  const xattrs = allXattrs(root);
  const inodes = new Map<number, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const path = `${rel}/${name}`;
      const st = lstatSync(abs);
      const e: EntrySnapshot & { mtime?: number } = {
        type: typeOf(st),
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
      };
      if (e.type === 'file') {
        e.size = st.size;
        e.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
        if (st.nlink > 1) {
          const first = inodes.get(st.ino);
          if (first) e.hardlinkOf = first;
          else inodes.set(st.ino, path);
        }
      }
      if (e.type === 'symlink') e.link = readlinkSync(abs);
      if (e.type === 'char' || e.type === 'block') e.rdev = st.rdev;
      const x = xattrs.get(abs);
      if (x) e.xattrs = x;
      if (opts.mtimes && e.type !== 'symlink') e.mtime = Math.floor(st.mtimeMs / 1000);
      out[path] = e;
      if (e.type === 'dir') walk(abs, path);
    }
  };
  walk(root, '');
  return out;
}
