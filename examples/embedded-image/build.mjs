#!/usr/bin/env node
// Builds the embedded default image: a tiny, deterministic OCI layout in ./image (three gzip layers, one image
// index with a manifest per common platform, all sharing the same layers) and ./expected-rootfs.json, the tree
// that flattening its layers must give.
//
//   node build.mjs           rebuild image/ and expected-rootfs.json
//   node build.mjs --check   rebuild in memory and fail if any committed byte differs
//
// No dependencies: the tar writer and the layout writer are below, so every byte is under this script's control
// (fixed mtimes, owners, entry order, gzip header with mtime 0 and OS 3). The deflate stream itself comes from
// Node's bundled zlib at level 9; --check says so if only the compressed bytes differ.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
const MTIME = 1704067200; // 2024-01-01T00:00:00Z, for every entry and the config's `created`
const CREATED = new Date(MTIME * 1000).toISOString().replace('.000Z', 'Z');

// ---- what the image holds --------------------------------------------------------------------------------
const dir = (name, mode = 0o755, uid = 0, gid = 0, xattrs) => ({ type: 'dir', name, mode, uid, gid, xattrs });
const file = (name, content, mode = 0o644, uid = 0, gid = 0, xattrs) => ({
  type: 'file',
  name,
  content,
  mode,
  uid,
  gid,
  xattrs,
});
const symlink = (name, target) => ({ type: 'symlink', name, linkname: target, mode: 0o777, uid: 0, gid: 0 });
const hardlink = (name, target) => ({ type: 'link', name, linkname: target, mode: 0o755, uid: 0, gid: 0 });
const whiteout = (path) =>
  file(`${dirname(path) === '.' ? '' : `${dirname(path)}/`}.wh.${path.split('/').pop()}`, '', 0o644);
const opaque = (path) => file(`${path}/.wh..wh..opq`, '', 0o644);

export const LAYERS = [
  {
    comment: 'base: a small tree with files, owners, a sticky /tmp and two things the next layers remove',
    entries: [
      dir('etc'),
      file('etc/hostname', 'ovl-base\n'),
      file('etc/motd', 'This file is deleted by layer 1.\n'),
      dir('etc/app'),
      file('etc/app/app.conf', 'mode=base\n'),
      file('etc/app/extra.conf', 'hidden by the opaque etc/app of layer 2\n'),
      dir('home'),
      dir('home/user', 0o750, 1000, 1000),
      file('home/user/.profile', 'export PS1="ovl$ "\n', 0o644, 1000, 1000),
      dir('opt'),
      dir('opt/old'),
      file('opt/old/readme', 'This directory is deleted by layer 1.\n'),
      dir('opt/old/sub'),
      file('opt/old/sub/deep', 'deep\n'),
      dir('tmp', 0o1777),
      dir('usr'),
      dir('usr/bin'),
      file('usr/bin/hello', '#!/bin/sh\necho "hello from the ovl embedded image"\n', 0o755),
    ],
  },
  {
    comment:
      'changes: delete etc/motd (file whiteout) and opt/old (directory whiteout); add greet with an xattr, its hardlink and two symlinks',
    entries: [
      dir('etc'),
      whiteout('etc/motd'),
      symlink('etc/localtime', '/usr/share/zoneinfo/UTC'),
      dir('opt'),
      whiteout('opt/old'),
      dir('usr'),
      dir('usr/bin'),
      file('usr/bin/greet', '#!/bin/sh\necho "greetings, $1"\n', 0o755, 0, 0, {
        'user.ovl.comment': 'greeter',
      }),
      hardlink('usr/bin/greet-again', 'usr/bin/greet'),
      symlink('usr/bin/hi', 'hello'),
    ],
  },
  {
    comment:
      'top: etc/app made opaque (extra.conf disappears, app.conf replaced), etc/hostname changed, srv/www added with an xattr on the directory',
    entries: [
      dir('etc'),
      file('etc/hostname', 'ovl\n'),
      dir('etc/app'),
      opaque('etc/app'),
      file('etc/app/app.conf', 'mode=top\n'),
      dir('srv'),
      dir('srv/www', 0o755, 33, 33, { 'user.ovl.role': 'web' }),
      file('srv/www/index.html', '<h1>ovl</h1>\n', 0o644, 33, 33),
    ],
  },
];

const PLATFORMS = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux', variant: 'v8' },
  { architecture: 'arm', os: 'linux', variant: 'v7' },
  { architecture: 'ppc64le', os: 'linux' },
  { architecture: 's390x', os: 'linux' },
  { architecture: 'riscv64', os: 'linux' },
];

/** `latest-amd64`, `latest-arm64-v8`, ...: the per-platform ref names. */
export const platformTag = (p) => [p.architecture, p.variant].filter(Boolean).join('-');

// ---- tar writer (POSIX ustar + PAX records for xattrs) -----------------------------------------------------
const TYPEFLAG = { file: '0', link: '1', symlink: '2', dir: '5' };

function header(fields) {
  const h = Buffer.alloc(512);
  const put = (value, offset, length) => h.write(value, offset, length, 'utf8');
  const num = (n, offset, length) => put(`${n.toString(8).padStart(length - 1, '0')}\0`, offset, length);
  if (Buffer.byteLength(fields.name) > 100) throw new Error(`name too long for this writer: ${fields.name}`);
  put(fields.name, 0, 100);
  num(fields.mode, 100, 8);
  num(fields.uid, 108, 8);
  num(fields.gid, 116, 8);
  num(fields.size, 124, 12);
  num(MTIME, 136, 12);
  put('        ', 148, 8);
  put(fields.typeflag, 156, 1);
  put(fields.linkname ?? '', 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  num(0, 329, 8);
  num(0, 337, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

const pad = (n) => Buffer.alloc((512 - (n % 512)) % 512);

function paxRecords(records) {
  const parts = Object.entries(records).map(([k, v]) => {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len)
      len = String(len).length + Buffer.byteLength(body);
    return Buffer.from(`${len}${body}`);
  });
  return Buffer.concat(parts);
}

export function layerTar(entries) {
  const out = [];
  for (const e of entries) {
    const name = e.type === 'dir' ? `${e.name}/` : e.name;
    if (e.xattrs) {
      const records = {};
      for (const [k, v] of Object.entries(e.xattrs)) records[`SCHILY.xattr.${k}`] = v;
      const data = paxRecords(records);
      const paxName = `PaxHeaders/${e.name}`.slice(0, 100);
      out.push(
        header({ name: paxName, mode: 0o644, uid: 0, gid: 0, size: data.length, typeflag: 'x' }),
        data,
        pad(data.length),
      );
    }
    const data = e.type === 'file' ? Buffer.from(e.content) : Buffer.alloc(0);
    out.push(header({ ...e, name, size: data.length, typeflag: TYPEFLAG[e.type] }), data, pad(data.length));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

// ---- OCI layout -----------------------------------------------------------------------------------------
const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** gzip with level 9; Node writes the fixed header 1f 8b 08 00 00000000 00 03 (no name, mtime 0, Unix). */
const gzip = (b) => gzipSync(b, { level: 9, strategy: constants.Z_DEFAULT_STRATEGY });

export function buildLayout() {
  const blobs = new Map();
  const add = (bytes) => {
    const b = Buffer.from(bytes);
    blobs.set(sha256(b), b);
    return { digest: sha256(b), size: b.length };
  };
  const json = (value) => add(`${JSON.stringify(value, null, 2)}\n`);
  const tars = LAYERS.map((l) => layerTar(l.entries));
  const layers = tars.map((t) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    ...add(gzip(t)),
  }));
  const manifests = PLATFORMS.map((platform) => {
    const config = json({
      created: CREATED,
      ...platform,
      config: { Env: ['PATH=/usr/bin'], Cmd: ['/usr/bin/hello'], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: tars.map(sha256) },
      history: LAYERS.map((l) => ({
        created: CREATED,
        created_by: `examples/embedded-image/build.mjs: ${l.comment}`,
      })),
    });
    const manifest = json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers,
    });
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform };
  });
  const index = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
  const files = new Map();
  files.set('oci-layout', Buffer.from(`${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`));
  const top = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        ...index,
        annotations: { 'org.opencontainers.image.ref.name': 'latest' },
      },
      // One ref per platform too: tools that refuse a multi-platform ref (umoci: "tag is ambiguous") take these.
      ...manifests.map((m) => ({
        ...m,
        annotations: { 'org.opencontainers.image.ref.name': `latest-${platformTag(m.platform)}` },
      })),
    ],
  };
  files.set('index.json', Buffer.from(`${JSON.stringify(top, null, 2)}\n`));
  for (const [digest, bytes] of blobs) files.set(`blobs/sha256/${digest.slice(7)}`, bytes);
  return { files, tars, layers };
}

// ---- the flattened tree, as the layers define it ------------------------------------------------------------
export function expectedRootfs() {
  const tree = new Map();
  const removeTree = (p, keepSelf) => {
    for (const k of [...tree.keys()]) if ((!keepSelf && k === p) || k.startsWith(`${p}/`)) tree.delete(k);
  };
  for (const layer of LAYERS) {
    for (const e of layer.entries) if (e.name.endsWith('/.wh..wh..opq')) removeTree(dirname(e.name), true);
    for (const e of layer.entries) {
      const base = e.name.split('/').pop();
      if (base === '.wh..wh..opq') continue;
      if (base.startsWith('.wh.')) {
        removeTree(join(dirname(e.name), base.slice(4)), false);
        continue;
      }
      if (e.type === 'link') {
        const target = tree.get(e.linkname);
        target.hardlinks = [...new Set([...(target.hardlinks ?? [e.linkname]), e.name])].sort();
        tree.set(e.name, target);
        continue;
      }
      if (!(e.type === 'dir' && tree.get(e.name)?.type === 'dir')) removeTree(e.name, false);
      const node = { type: e.type, mode: `0${e.mode.toString(8)}`, uid: e.uid, gid: e.gid };
      if (e.type === 'file') Object.assign(node, { size: Buffer.byteLength(e.content), content: e.content });
      if (e.type === 'symlink') node.linkname = e.linkname;
      if (e.xattrs) node.xattrs = e.xattrs;
      tree.set(e.name, node);
    }
  }
  const out = {};
  for (const k of [...tree.keys()].sort()) out[k] = tree.get(k);
  return out;
}

// ---- main -------------------------------------------------------------------------------------------------
function listFiles(root, rel = '') {
  const out = [];
  for (const ent of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out;
}

function main() {
  const check = process.argv.includes('--check');
  const { files, tars, layers } = buildLayout();
  const expected = Buffer.from(`${JSON.stringify(expectedRootfs(), null, 2)}\n`);
  const imageDir = join(HERE, 'image');
  if (!check) {
    rmSync(imageDir, { recursive: true, force: true });
    for (const [name, bytes] of files) {
      mkdirSync(dirname(join(imageDir, name)), { recursive: true });
      writeFileSync(join(imageDir, name), bytes);
    }
    writeFileSync(join(HERE, 'expected-rootfs.json'), expected);
  }
  for (const [i, l] of layers.entries()) {
    console.log(`layer ${i}: ${l.digest} (${l.size} bytes gzip, DiffID ${sha256(tars[i])})`);
  }
  if (!check) return console.log(`wrote ${files.size} files to ${imageDir}`);
  const problems = [];
  let committed = [];
  try {
    committed = listFiles(imageDir);
  } catch {
    problems.push('image/ is missing: run node build.mjs');
  }
  for (const name of committed)
    if (!files.has(name)) problems.push(`image/${name} is not produced by build.mjs`);
  for (const [name, bytes] of files) {
    let old;
    try {
      old = readFileSync(join(imageDir, name));
    } catch {
      problems.push(`image/${name} is missing`);
      continue;
    }
    if (!old.equals(bytes)) problems.push(`image/${name} differs`);
  }
  let oldExpected;
  try {
    oldExpected = readFileSync(join(HERE, 'expected-rootfs.json'));
  } catch {}
  if (!oldExpected?.equals(expected)) problems.push('expected-rootfs.json differs');
  if (problems.length) {
    console.error(`embedded image is not reproducible:\n  ${problems.join('\n  ')}`);
    console.error(
      'If only gzip blobs differ while DiffIDs match, this Node bundles a zlib that deflates differently.',
    );
    process.exit(1);
  }
  console.log(`ok: ${files.size} files reproduced byte for byte`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
