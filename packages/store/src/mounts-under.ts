import { readFileSync } from 'node:fs';

/** Decodes mountinfo's octal escapes (`\040` for a space, `\134` for a backslash, ...). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/**
 * Mount points at or below `dir`, deepest first (the order to unmount them in), read from
 * /proc/self/mountinfo. Reading a proc file is plain file I/O; unmounting is left to the caller
 * (through @ovl/syscall), so this module stays free of native calls.
 */
export function mountsUnder(dir: string, mountinfo = '/proc/self/mountinfo'): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const out: string[] = [];
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = unescapeOctal(field);
    if (point === dir || point.startsWith(prefix)) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}
