// A model of what a stack of layers means, for comparing our layer streams with what umoci unpacks: the
// layers' entries applied in memory (whiteouts and opaque directories as the OCI spec defines them), and a
// walk of a real directory into the same shape.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';

export interface Node {
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha: string;
  linkname: string;
  xattrs: Record<string, string>;
}

export interface LayerEntry {
  name: string;
  type: string;
  linkname: string;
  node: Node;
}

const norm = (name: string) => posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');

export async function layerEntries(stream: Readable): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const ex = extract();
  stream.pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const data = Buffer.concat(chunks);
    const h = entry.header;
    const xattrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(h.pax ?? {})) {
      if (k.startsWith('SCHILY.xattr.user.')) xattrs[k.slice('SCHILY.xattr.'.length)] = v;
    }
    const type = h.type === 'directory' ? 'directory' : h.type === 'symlink' ? 'symlink' : 'file';
    out.push({
      name: norm(h.name),
      type: h.type ?? 'file',
      linkname: h.linkname ?? '',
      node: {
        type,
        mode: (h.mode ?? 0) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size: data.length,
        sha: createHash('sha256').update(data).digest('hex'),
        linkname: type === 'symlink' ? (h.linkname ?? '') : '',
        xattrs,
      },
    });
  }
  return out;
}

/** Applies layers bottom-up; returns path → node and the hardlink pairs [link, target]. */
export function flattenModel(layers: LayerEntry[][]) {
  const tree = new Map<string, Node>();
  const links = new Map<string, string>();
  const removeTree = (p: string, keepSelf = false) => {
    for (const k of [...tree.keys()]) {
      if ((k === p && !keepSelf) || k.startsWith(`${p}/`)) {
        tree.delete(k);
        links.delete(k);
      }
    }
  };
  for (const entries of layers) {
    // Opaque markers hide what lower layers had, never this layer's own entries: apply them first.
    for (const e of entries)
      if (posix.basename(e.name) === '.wh..wh..opq') removeTree(posix.dirname(e.name), true);
    for (const e of entries) {
      const base = posix.basename(e.name);
      if (base === '.wh..wh..opq') continue;
      if (base.startsWith('.wh.')) {
        removeTree(posix.join(posix.dirname(e.name), base.slice(4)));
        continue;
      }
      if (e.name === '') continue;
      if (e.type === 'link') {
        const target = tree.get(norm(e.linkname));
        if (target) tree.set(e.name, target);
        links.set(e.name, norm(e.linkname));
        continue;
      }
      if (tree.get(e.name)?.type !== 'directory' || e.node.type !== 'directory') removeTree(e.name);
      tree.set(e.name, e.node);
    }
  }
  return { tree, links };
}

export async function walkTree(root: string) {
  const tree = new Map<string, Node>();
  const inodes = new Map<string, number>();
  const xattrs = readUserXattrs(root);
  const walk = async (rel: string) => {
    for (const name of await readdir(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = await lstat(p);
      const type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'file';
      const data = type === 'file' ? await readFile(p) : Buffer.alloc(0);
      tree.set(r, {
        type,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: data.length,
        sha: createHash('sha256').update(data).digest('hex'),
        linkname: type === 'symlink' ? await readlink(p) : '',
        xattrs: xattrs.get(r) ?? {},
      });
      inodes.set(r, st.ino);
      if (type === 'directory') await walk(r);
    }
  };
  await walk('');
  return { tree, inodes };
}

function readUserXattrs(root: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const text = execFileSync('getfattr', ['-R', '-d', '-m', '^user\\.', '--absolute-names', root], {
    encoding: 'utf8',
  });
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const file = /^# file: (.*)$/.exec(line);
    if (file) {
      current = {};
      out.set(file[1]!.slice(root.length + 1), current);
      continue;
    }
    const kv = /^([^=]+)="(.*)"$/.exec(line);
    if (kv && current) current[kv[1]!] = kv[2]!;
  }
  return out;
}
