// Test helpers for the diff and changes suites: temp trees, overlay-style whiteouts, and reading a tar
// stream back into plain entry records (through tar-stream's extractor).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { lsetxattr, makedev, mknod, S_IFCHR } from '@ovl/syscall';
import tarStream from 'tar-stream';

export const isRoot = process.getuid?.() === 0;

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `ovl-${tag}-`));
}

export function rmTree(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Writes files (string content) and directories (trailing /) under root. */
export function build(root: string, spec: Record<string, string>): void {
  for (const [rel, content] of Object.entries(spec)) {
    const abs = join(root, rel);
    if (rel.endsWith('/')) mkdirSync(abs, { recursive: true });
    else {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
  }
}

/** An overlayfs whiteout (0/0 character device) at root/rel. */
export function overlayWhiteout(root: string, rel: string): void {
  mknod(join(root, rel), S_IFCHR, makedev(0, 0));
}

export function markOpaque(root: string, rel: string): void {
  lsetxattr(join(root, rel), 'trusted.overlay.opaque', 'y');
}

export interface TarRecord {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string | null;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  mtime: number;
  pax: Record<string, string> | null;
  content: Buffer;
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The entries of a tar held in memory, as tar-stream's extractor reports them. */
export async function readTar(tar: Buffer): Promise<TarRecord[]> {
  const out: TarRecord[] = [];
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        out.push({
          name: header.name,
          type: header.type,
          mode: header.mode,
          uid: header.uid,
          gid: header.gid,
          size: header.size,
          linkname: header.linkname ?? null,
          uname: header.uname,
          gname: header.gname,
          devmajor: header.devmajor,
          devminor: header.devminor,
          mtime: header.mtime.getTime(),
          pax: (header.pax as Record<string, string> | null) ?? null,
          content: Buffer.concat(chunks),
        });
        next();
      });
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  extract.end(tar);
  await done;
  return out;
}

/** `name type mode uid:gid size` lines, the shape most assertions compare. */
export function summary(records: TarRecord[]): string[] {
  return records.map(
    (r) =>
      `${r.name} ${r.type} ${r.mode.toString(8)} ${r.uid}:${r.gid} ${r.size}${r.linkname ? ` -> ${r.linkname}` : ''}`,
  );
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Buffer {
  return execFileSync(cmd, args, { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 30 });
}

/**
 * A lower tree and a new tree made from a copy of it (cp -a keeps nanosecond mtimes), then changed:
 * content, mode, xattr and symlink-target modifications, a touched directory, deletes, adds, and a
 * directory replaced wholesale. Returns the two roots.
 */
export function naiveFixture(): { lower: string; tree: string } {
  const lower = tempDir('nl');
  const parent = tempDir('nt');
  const tree = join(parent, 'tree');
  build(lower, {
    'etc/conf': 'v1',
    'etc/mode': 'm',
    'etc/attr': 'a',
    'etc/same': 'same',
    'etc/touched/child': 'c',
    'usr/gone': 'g',
    'usr/keep': 'k',
    'r/old1': '1',
    'r/old2': '2',
  });
  symlinkSync('target-a', join(lower, 'etc/link'));
  for (const f of [
    'etc/conf',
    'etc/mode',
    'etc/attr',
    'etc/same',
    'usr/gone',
    'usr/keep',
    'r/old1',
    'r/old2',
  ])
    chmodSync(join(lower, f), 0o644);
  for (const d of ['etc', 'etc/touched', 'usr', 'r']) {
    chmodSync(join(lower, d), 0o755);
    utimesSync(join(lower, d), 1000, 1000);
  }
  execFileSync('cp', ['-a', lower, tree]);
  writeFileSync(join(tree, 'etc/conf'), 'v2'); // same size, new mtime
  utimesSync(join(tree, 'etc/conf'), 3000, 3000); // file-system clocks are coarse: make the mtime differ
  chmodSync(join(tree, 'etc/mode'), 0o600);
  setXattr(join(tree, 'etc/attr'), 'user.k', 'v');
  // Same length and mtime: only the target tells.
  const st = lstatSync(join(lower, 'etc/link'));
  rmSync(join(tree, 'etc/link'));
  symlinkSync('target-b', join(tree, 'etc/link'));
  lutimesSync(join(tree, 'etc/link'), st.atime, st.mtime);
  utimesSync(join(tree, 'etc/touched'), 2000, 2000); // mtime alone: not a change
  rmSync(join(tree, 'usr/gone'));
  build(tree, { 'opt/new/file': 'nnn' });
  rmSync(join(tree, 'r'), { recursive: true });
  build(tree, { 'r/fresh': 'f' });
  chmodSync(join(tree, 'r'), 0o755);
  for (const f of ['opt/new/file', 'r/fresh']) chmodSync(join(tree, f), 0o644);
  for (const d of ['opt', 'opt/new']) chmodSync(join(tree, d), 0o755);
  return { lower, tree };
}

function setXattr(path: string, name: string, value: string): void {
  lsetxattr(path, name, value);
}
