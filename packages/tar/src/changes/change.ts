/**
 * What changed between lower layers and an upper layer (or a new tree), as Docker's `archive.Change`.
 * Paths are absolute within the layer (`/etc/passwd`), as `docker diff` prints them.
 */
export type ChangeKind = 'add' | 'modify' | 'delete';

export interface Change {
  path: string;
  kind: ChangeKind;
}

/**
 * Orders two layer paths component by component, bytewise (UTF-8), so that a directory comes right before
 * its own children (`/a`, `/a/b`, `/a-b`), the order in which diff writes its entries.
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    // Below 0x80 UTF-16 units and UTF-8 bytes order alike; otherwise compare the encoded remainders.
    if (x < 0x80 && y < 0x80) return x - y;
    return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
  }
  return a.length - b.length;
}

/** Bytewise order of two base names (no separators), as a directory's entries are written. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0x80 && y < 0x80) return x - y;
    return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
  }
  return a.length - b.length;
}

/** Sorts changes in place by path (parents first) and returns them. */
export function sortChanges(changes: Change[]): Change[] {
  return changes.sort((x, y) => comparePaths(x.path, y.path));
}

/** `/a/b` → `/a`; `/a` → `/`. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** `/a` + `b` → `/a/b`; `/` + `b` → `/b`. */
export function childOf(path: string, name: string): string {
  return path === '/' ? `/${name}` : `${path}/${name}`;
}
