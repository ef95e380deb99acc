// Test helpers for the diff and changes suites: temp trees, overlay-style whiteouts, and reading a tar
// stream back into plain entry records (through tar-stream's extractor).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { lgetxattr, llistxattr, lsetxattr, makedev, mknod, S_IFCHR, S_IFIFO } from '@ovl/syscall';
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

export interface DescribeOptions {
  /** Compare mtimes of non-directories (to the nanosecond). */
  mtimes?: boolean;
  /** Leave these relative paths out (e.g. a bundle's config). */
  skip?: string[];
}

/**
 * One line per entry below `root` (root itself left out): type, mode, owner, size, content digest or link
 * target, xattrs, hardlink group, mtime — what a user checks to say two trees are the same.
 */
export function describeTree(root: string, options: DescribeOptions = {}): string[] {
  const lines: string[] = [];
  const groups = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      if (options.skip?.includes(relPath)) continue;
      const abs = join(dir, name);
      const st = lstatSync(abs, { bigint: true });
      const type = st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isSymbolicLink()
            ? 'symlink'
            : st.isCharacterDevice()
              ? 'chr'
              : st.isBlockDevice()
                ? 'blk'
                : st.isFIFO()
                  ? 'fifo'
                  : 'other';
      let what = '';
      if (st.isFile()) what = createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16);
      if (st.isSymbolicLink()) what = `-> ${readlinkSync(abs)}`;
      if (st.isCharacterDevice() || st.isBlockDevice()) what = `rdev ${st.rdev}`;
      const xattrs = llistxattr(abs)
        .filter((n) => !n.startsWith('security.selinux'))
        .sort()
        .map((n) => `${n}=${lgetxattr(abs, n)?.toString('hex')}`)
        .join(',');
      let link = '';
      if (!st.isDirectory() && st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (!groups.has(key)) groups.set(key, relPath);
        link = ` link=${groups.get(key)}`;
      }
      const mtime = options.mtimes && !st.isDirectory() ? ` mtime=${st.mtimeNs}` : '';
      const mode = (st.mode & 0o7777n).toString(8);
      const size = st.isFile() ? st.size : 0n;
      lines.push(`${relPath} ${type} ${mode} ${st.uid}:${st.gid} ${size} ${what} [${xattrs}]${link}${mtime}`);
      if (st.isDirectory()) walk(abs, relPath);
    }
  };
  walk(root, '');
  return lines;
}

export const CAPABILITY = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service+ep

/** 2.5 MiB of deterministic bytes: bigger than one read chunk, not a multiple of 512. */
export function bigContent(): Buffer {
  const buf = Buffer.alloc(2.5 * 1024 * 1024 + 77);
  let x = 12345;
  for (let i = 0; i < buf.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    buf[i] = x >>> 16;
  }
  return buf;
}

export const LONG_DIR = `long/${'d'.repeat(120)}`;
export const LONG_FILE = `${LONG_DIR}/${'f'.repeat(150)}`;
export const LONG_TARGET = `../${'t'.repeat(150)}`;

/**
 * A tree with every kind of entry a layer carries, created in `order` so that two copies differ in
 * inode numbers and directory order but not in content or metadata. Root-only parts (owners, devices,
 * capabilities) only as root.
 */
export function richTree(root: string, order: 'forward' | 'reverse'): void {
  const steps: Array<() => void> = [
    () => build(root, { 'bin/su': 'su', 'etc/conf': 'conf', empty: '' }),
    () => build(root, { [LONG_FILE]: 'long name' }),
    () => build(root, { 'utf/café/naïve.txt': 'unicode' }),
    () => writeFileSync(join(root, 'big.bin'), bigContent()),
    () => {
      build(root, { 'etc/h1': 'hard' });
      linkSync(join(root, 'etc/h1'), join(root, 'etc/h2'));
      linkSync(join(root, 'etc/h1'), join(root, 'etc/h3'));
    },
    () => {
      build(root, { 'links/': '' });
      symlinkSync(LONG_TARGET, join(root, 'links/long'));
      symlinkSync('/proc/self/fd', join(root, 'links/abs'));
    },
    () => {
      build(root, { 'dev/': '' });
      mknod(join(root, 'dev/fifo'), S_IFIFO | 0o644, 0);
      if (isRoot) mknod(join(root, 'dev/null'), S_IFCHR | 0o666, makedev(1, 3));
    },
    () => build(root, { 'tmp/': '' }),
  ];
  for (const step of order === 'forward' ? steps : [...steps].reverse()) step();
  if (order === 'reverse') {
    // Same names, different directory order on disk: recreate etc/conf after its siblings.
    rmSync(join(root, 'etc/conf'));
    writeFileSync(join(root, 'etc/conf'), 'conf');
  }
  // Owners first: chown clears setuid/setgid bits and file capabilities.
  if (isRoot) {
    chownSync(join(root, 'bin/su'), 0, 0);
    lchownSync(join(root, 'etc/conf'), 3_000_000, 3_000_001);
    lchownSync(join(root, 'links/abs'), 1000, 1000);
  }
  chmodSync(join(root, 'bin/su'), 0o4755);
  chmodSync(join(root, 'etc/conf'), 0o2640);
  chmodSync(join(root, 'tmp'), 0o1777);
  lsetxattr(join(root, 'etc/conf'), 'user.comment', Buffer.from([0xff, 0x00, 0x80, 0x41]));
  if (isRoot) lsetxattr(join(root, 'bin/su'), 'security.capability', CAPABILITY);
  // Fixed times (sub-second, and one before 1970), children before their directories.
  const files = [
    'bin/su',
    'etc/conf',
    'empty',
    LONG_FILE,
    'utf/café/naïve.txt',
    'big.bin',
    'etc/h1',
    'dev/fifo',
  ];
  for (const f of files) utimesSync(join(root, f), 1_600_000_000.25, 1_600_000_000.25);
  // Node turns negative times into 'now'; GNU touch takes them.
  execFileSync('touch', ['-d', '@-100', join(root, 'etc/conf')]);
  lutimesSync(join(root, 'links/long'), 1_600_000_001, 1_600_000_001);
  lutimesSync(join(root, 'links/abs'), 1_600_000_001, 1_600_000_001);
  if (isRoot) utimesSync(join(root, 'dev/null'), 1_600_000_002, 1_600_000_002);
  const dirs = ['bin', 'etc', LONG_DIR, 'long', 'utf/café', 'utf', 'links', 'dev', 'tmp'];
  for (const d of dirs) utimesSync(join(root, d), 1_600_000_003.5, 1_600_000_003.5);
}
