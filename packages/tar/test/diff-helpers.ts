// Test helpers for the diff and changes suites: temp trees, overlay-style whiteouts, and reading a tar
// stream back into plain entry records (through tar-stream's extractor).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
