import type { LayerRecord } from '../layer-db.js';
import { humanBytes } from './format.js';

/** The layer graph as a tree: shared parents drawn once, children sorted, sizes beside. */
export function drawTree(layers: LayerRecord[]): string {
  const ids = new Set(layers.map((l) => l.id));
  const children = new Map<string | undefined, LayerRecord[]>();
  for (const l of layers) {
    const parent = l.parent && ids.has(l.parent) ? l.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), l]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, prefix: string) => {
    const kids = (children.get(parent) ?? []).sort((a, b) => a.id.localeCompare(b.id));
    kids.forEach((l, i) => {
      const last = i === kids.length - 1;
      const head = parent === undefined ? '' : `${prefix}${last ? '└── ' : '├── '}`;
      lines.push(`${head}${l.id.slice(0, 12)}  ${humanBytes(l.size)}${l.readWrite ? '  (rw)' : ''}`);
      walk(l.id, parent === undefined ? '' : `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(undefined, '');
  return lines.length ? `${lines.join('\n')}\n` : '(no layers)\n';
}
