// /proc/self/mountinfo as typed records (proc(5)). Paths in it escape space, tab, newline and
// backslash as \040 \011 \012 \134; those are decoded here.
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';

export interface MountInfo {
  mountId: number;
  parentId: number;
  major: number;
  minor: number;
  /** the directory of the filesystem that forms this mount's root */
  root: string;
  mountPoint: string;
  /** per-mount options, e.g. ['rw', 'relatime'] */
  options: string[];
  /** optional fields such as 'shared:1', 'master:2' */
  optionalFields: string[];
  fstype: string;
  source: string;
  /** per-superblock options, e.g. ['rw', 'lowerdir=/a:/b', 'upperdir=/u'] */
  superOptions: string[];
}

/** Decodes the octal escapes the kernel writes (\040 for a space, \134 for a backslash). */
export function decodeMountinfoField(s: string): string {
  return s.includes('\\')
    ? s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
    : s;
}

/** Parses mountinfo text (exported for tests and for /proc/<pid>/mountinfo). */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    const [major, minor] = (f[2] ?? '0:0').split(':').map(Number);
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      major: major ?? 0,
      minor: minor ?? 0,
      root: decodeMountinfoField(f[3] ?? ''),
      mountPoint: decodeMountinfoField(f[4] ?? ''),
      options: (f[5] ?? '').split(','),
      optionalFields: f.slice(6, sep),
      fstype: decodeMountinfoField(f[sep + 1] ?? ''),
      source: decodeMountinfoField(f[sep + 2] ?? ''),
      superOptions: splitSuperOptions(decodeMountinfoField(f.slice(sep + 3).join(' '))),
    });
  }
  return out;
}

// Overlay shows escaped layer paths in its options ("lowerdir=/a\,b:/c"), so a comma preceded by a
// backslash does not split.
function splitSuperOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur || out.length) out.push(cur);
  return out;
}

/** The mount table of this process, in kernel order (parents before children). Synchronous. */
export function readMountinfo(file = '/proc/self/mountinfo'): MountInfo[] {
  return parseMountinfo(readFileSync(file, 'utf8'));
}

/**
 * Whether `path` (symlinks resolved) is the mount point of some mount in this namespace. Unlike a
 * st_dev comparison this also sees bind mounts of a directory onto itself. Synchronous.
 */
export function isMountpoint(path: string): boolean {
  let real: string;
  try {
    real = realpathSync(resolve(path));
  } catch {
    return false;
  }
  return readMountinfo().some((m) => m.mountPoint === real);
}
