// The merged, read-only view of a stack of lower layers (top first), without mounting anything: what a
// path resolves to below an upper layer, and what a directory lists there. Whiteouts and opaque
// directories inside the lowers are honoured, in overlay form (0/0 char devices, the opaque xattr) or
// aufs form (`.wh.<name>` files, `.wh..wh..opq`), as the kernel would merge them.
import type { BigIntStats } from 'node:fs';
import { lgetxattr } from '@ovl/syscall';
import { opaqueXattrName, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../whiteouts.js';
import { isWhiteoutStat, lstatMaybe, readNames } from './fs-entry.js';
import { isOpaqueValue } from './xattrs.js';

export type LayerFormat = 'overlay' | 'aufs';

/** The topmost visible entry of a path in the lowers. */
export interface LowerHit {
  /** Index into the lowers (0 = top). */
  layer: number;
  /** Absolute path of the entry inside that layer. */
  path: string;
  stat: BigIntStats;
}

type Probe =
  | { kind: 'absent' }
  | { kind: 'hidden' }
  | { kind: 'entry'; path: string; stat: BigIntStats; opaque: boolean };

const ABSENT: Probe = { kind: 'absent' };
const HIDDEN: Probe = { kind: 'hidden' };

export class LowerView {
  // Directory probes are reused: every lookup below /usr/share walks through /usr and /usr/share.
  private readonly dirCache = new Map<string, Probe>();

  constructor(
    readonly lowers: readonly string[],
    readonly format: LayerFormat = 'overlay',
    readonly userxattr = false,
  ) {}

  /** The visible entry at `rel` ('' for the root, else 'a/b'), or undefined when nothing lies below. */
  lookup(rel: string): LowerHit | undefined {
    const comps = rel === '' ? [] : rel.split('/');
    for (let i = 0; i < this.lowers.length; i++) {
      const p = this.probe(i, comps);
      if (p.kind === 'hidden') return undefined;
      if (p.kind === 'entry') return { layer: i, path: p.path, stat: p.stat };
    }
    return undefined;
  }

  /** The visible children of the directory `rel`, by name (empty when it is not a directory below). */
  children(rel: string): Map<string, LowerHit> {
    const comps = rel === '' ? [] : rel.split('/');
    const out = new Map<string, LowerHit>();
    const hidden = new Set<string>();
    for (let i = 0; i < this.lowers.length; i++) {
      const p = this.probe(i, comps);
      if (p.kind === 'hidden') break;
      if (p.kind === 'absent') continue;
      if (!p.stat.isDirectory()) break;
      for (const name of readNames(p.path) ?? []) {
        if (this.format === 'aufs' && name.startsWith(WHITEOUT_PREFIX)) {
          if (!name.startsWith(WHITEOUT_META_PREFIX)) hidden.add(name.slice(WHITEOUT_PREFIX.length));
          continue;
        }
        if (hidden.has(name) || out.has(name)) continue;
        const path = `${p.path}/${name}`;
        const stat = lstatMaybe(path);
        if (!stat) continue;
        if (this.format === 'overlay' && isWhiteoutStat(stat)) {
          hidden.add(name);
          continue;
        }
        out.set(name, { layer: i, path, stat });
      }
      if (p.opaque) break;
    }
    return out;
  }

  /** What layer `i` holds at the path `comps`, taking its whiteouts and opaque ancestors into account. */
  private probe(i: number, comps: string[]): Probe {
    const root = this.lowers[i]!;
    if (comps.length === 0) {
      const stat = lstatMaybe(root);
      return stat ? { kind: 'entry', path: root, stat, opaque: false } : ABSENT;
    }
    // The parent directory's state in this layer decides whether the last component can show through.
    const parent = comps.length === 1 ? this.probe(i, []) : this.probeDir(i, comps.slice(0, -1));
    if (parent.kind === 'hidden') return HIDDEN;
    if (parent.kind === 'absent') return ABSENT;
    if (!parent.stat.isDirectory()) return HIDDEN;
    const name = comps[comps.length - 1]!;
    if (this.format === 'aufs' && lstatMaybe(`${parent.path}/${WHITEOUT_PREFIX}${name}`)) return HIDDEN;
    const path = `${parent.path}/${name}`;
    const stat = lstatMaybe(path);
    if (!stat) return parent.opaque ? HIDDEN : ABSENT;
    if (this.format === 'overlay' && isWhiteoutStat(stat)) return HIDDEN;
    // An opaque ancestor hides the lower layers for everything beneath it, so opaqueness carries down.
    const opaque = stat.isDirectory() && (parent.opaque || this.isOpaque(path));
    return { kind: 'entry', path, stat, opaque };
  }

  /** probe() of an ancestor directory, cached. */
  private probeDir(i: number, comps: string[]): Probe {
    const key = `${i}\0${comps.join('/')}`;
    let p = this.dirCache.get(key);
    if (!p) {
      p = this.probe(i, comps);
      this.dirCache.set(key, p);
    }
    return p;
  }

  private isOpaque(dir: string): boolean {
    if (this.format === 'aufs') return lstatMaybe(`${dir}/${WHITEOUT_OPAQUE}`) !== undefined;
    try {
      return isOpaqueValue(lgetxattr(dir, opaqueXattrName(this.userxattr)));
    } catch {
      return false;
    }
  }
}
