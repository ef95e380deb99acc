// Builds N lower layers under long absolute paths, each checkable in the merged view: layer k adds
// f<k> ("layer k") and g<k>, and whites out g<k-1> of the layer below with a 0/0 character device.
// So the merged view holds f0…f<N-1> and only the top g.
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { makedev, mknod, S_IFCHR } from '../src/index.js';

export interface LayerStack {
  base: string;
  /** absolute layer dirs, top first (as overlay and the planner want them) */
  lowers: string[];
  upper: string;
  work: string;
  target: string;
  /** store home with l/<name> → layer, and the short names, top first */
  home: string;
  linkNames: string[];
}

// 150 bytes of directory names, so that every layer path is ~200 bytes: too long for 128 layers in
// one page, short enough for one fsconfig value (255).
const LONG = `${'a-rather-long-directory-name-to-make-layer-paths-long-'.repeat(2)}x`.slice(0, 100);

export function buildStack(base: string, count: number): LayerStack {
  // Layers live inside the home and the l/ links are relative (as Docker's are), so that the
  // home also works as a chroot.
  const home = join(base, 'h');
  const root = join(home, LONG, LONG.slice(0, 40));
  mkdirSync(join(home, 'l'), { recursive: true });
  const bottomFirst: string[] = [];
  const names: string[] = [];
  for (let k = 0; k < count; k++) {
    const dir = join(root, `layer-${String(k).padStart(4, '0')}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${k}`), `layer ${k}`);
    writeFileSync(join(dir, `g${k}`), `g ${k}`);
    if (k > 0) mknod(join(dir, `g${k - 1}`), S_IFCHR, makedev(0, 0));
    bottomFirst.push(dir);
    // short link names (3 base-36 chars) so even 500 layers fit one page relative to the home
    const name = k.toString(36).padStart(3, '0');
    symlinkSync(relative(join(home, 'l'), dir), join(home, 'l', name));
    names.push(`l/${name}`);
  }
  const upper = join(home, 'upper');
  const work = join(home, 'work');
  const target = join(home, 'merged');
  for (const d of [upper, work, target]) mkdirSync(d, { recursive: true });
  return { base, lowers: bottomFirst.reverse(), upper, work, target, home, linkNames: names.reverse() };
}

/** The merged view's names and contents, against what the stack must show; returns a problem or ''. */
export function checkMerged(stack: LayerStack): string {
  const n = stack.lowers.length;
  const want = new Map<string, string>();
  for (let k = 0; k < n; k++) want.set(`f${k}`, `layer ${k}`);
  want.set(`g${n - 1}`, `g ${n - 1}`);
  const got = readdirSync(stack.target).sort();
  const wantNames = [...want.keys()].sort();
  if (got.join('/') !== wantNames.join('/')) {
    const missing = wantNames.filter((x) => !got.includes(x));
    const extra = got.filter((x) => !want.has(x));
    return `names differ: missing ${missing.slice(0, 5).join(',')} extra ${extra.slice(0, 5).join(',')}`;
  }
  for (const [name, content] of want) {
    const c = readFileSync(join(stack.target, name), 'utf8');
    if (c !== content) return `${name} holds "${c}", want "${content}"`;
  }
  return '';
}
