// The embedded default image in examples/embedded-image: reproducible from its script, readable here, and its
// layers flatten to expected-rootfs.json — checked against our own layer streams and against umoci unpack.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hostPlatform, openImage } from '../src/index.js';
import { cleanup, tempDir } from './fixtures.js';
import { flattenModel, type LayerEntry, layerEntries, type Node, walkTree } from './tool-model.js';

const EXAMPLE = resolve(import.meta.dirname ?? __dirname, '../../../examples/embedded-image');
const IMAGE = join(EXAMPLE, 'image');

interface Expected {
  type: 'file' | 'dir' | 'symlink';
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  content?: string;
  linkname?: string;
  xattrs?: Record<string, string>;
  hardlinks?: string[];
}

async function expectedTree(): Promise<Map<string, Node>> {
  const raw: Record<string, Expected> = JSON.parse(
    await readFile(join(EXAMPLE, 'expected-rootfs.json'), 'utf8'),
  );
  const out = new Map<string, Node>();
  for (const [path, e] of Object.entries(raw)) {
    out.set(path, {
      type: e.type === 'dir' ? 'directory' : e.type,
      mode: Number.parseInt(e.mode, 8),
      uid: e.uid,
      gid: e.gid,
      size: e.size ?? 0,
      sha: createHash('sha256')
        .update(e.content ?? '')
        .digest('hex'),
      linkname: e.linkname ?? '',
      xattrs: e.xattrs ?? {},
    });
  }
  return out;
}

const ctx: { dir?: string } = {};
const embedded = suite('embedded default image');
embedded.after.each(async () => cleanup(ctx.dir));

embedded('node build.mjs --check reproduces the committed layout byte for byte', () => {
  const r = spawnSync(process.execPath, [join(EXAMPLE, 'build.mjs'), '--check'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, 'reproduced byte for byte');
});

embedded('--check notices a changed blob', async () => {
  ctx.dir = await tempDir('embedded-check');
  await cp(EXAMPLE, ctx.dir, { recursive: true });
  const index = join(ctx.dir, 'image', 'index.json');
  await writeFile(index, (await readFile(index, 'utf8')).replace('"latest"', '"newest"'));
  const r = spawnSync(process.execPath, [join(ctx.dir, 'build.mjs'), '--check'], { encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stderr, 'image/index.json differs');
});

embedded(
  'opens for this machine and for every listed platform, with the same three gzip layers',
  async () => {
    const image = await openImage(IMAGE);
    assert.equal(image.platform, hostPlatform());
    assert.equal(image.refs, ['latest']);
    assert.equal(
      image.layers.map((l) => l.compression),
      ['gzip', 'gzip', 'gzip'],
    );
    for (const platform of [
      'linux/amd64',
      'linux/arm64/v8',
      'linux/arm/v7',
      'linux/ppc64le',
      'linux/s390x',
      'linux/riscv64',
    ]) {
      const other = await openImage(IMAGE, { platform });
      assert.equal(other.chainIds, image.chainIds, platform);
    }
    // A per-platform ref is an explicit choice: taken whatever this machine is, unless a platform is also given.
    const single = await openImage(IMAGE, { ref: 'latest-arm64-v8' });
    assert.equal(single.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const clash = await openImage(IMAGE, { ref: 'latest-arm64-v8', platform: 'linux/s390x' }).catch((e) => e);
    assert.is(clash.code, 'ERR_OVL_NO_MATCHING_PLATFORM');
  },
);

embedded(
  'its layers hold a file whiteout, a directory whiteout, an opaque dir, a hardlink, symlinks and xattrs',
  async () => {
    const image = await openImage(IMAGE);
    const layers: LayerEntry[][] = [];
    for (const layer of image.layers) layers.push(await layerEntries(layer.open()));
    const find = (i: number, name: string) => layers[i]!.find((e) => e.name === name);
    assert.ok(find(1, 'etc/.wh.motd'), 'file whiteout');
    assert.ok(find(0, 'opt/old/sub/deep') && find(1, 'opt/.wh.old'), 'directory whiteout');
    assert.ok(find(0, 'etc/app/extra.conf') && find(2, 'etc/app/.wh..wh..opq'), 'opaque directory');
    assert.is(find(1, 'usr/bin/greet-again')?.type, 'link');
    assert.is(find(1, 'usr/bin/greet-again')?.linkname, 'usr/bin/greet');
    assert.is(find(1, 'usr/bin/hi')?.node.linkname, 'hello');
    assert.equal(find(1, 'usr/bin/greet')?.node.xattrs, { 'user.ovl.comment': 'greeter' });
    assert.equal(find(2, 'srv/www')?.node.xattrs, { 'user.ovl.role': 'web' });
    const model = flattenModel(layers);
    const expected = await expectedTree();
    assert.equal([...model.tree.keys()].sort(), [...expected.keys()].sort());
    for (const [path, node] of expected) assert.equal(model.tree.get(path), node, path);
  },
);

embedded(
  'umoci unpack of the image gives expected-rootfs.json (owners, modes, content, links, xattrs)',
  async () => {
    if (process.getuid?.() !== 0) return console.log('skipped: umoci unpack keeps owners only as root');
    if (spawnSync('umoci', ['--version']).status !== 0) return console.log('skipped: umoci not installed');
    ctx.dir = await tempDir('embedded-umoci');
    const host = hostPlatform();
    const ref = `latest-${[host.architecture, host.variant].filter(Boolean).join('-')}`;
    execFileSync('umoci', ['unpack', '--image', `${IMAGE}:${ref}`, join(ctx.dir, 'bundle')], {
      stdio: 'pipe',
    });
    const real = await walkTree(join(ctx.dir, 'bundle', 'rootfs'));
    const expected = await expectedTree();
    assert.equal([...real.tree.keys()].sort(), [...expected.keys()].sort());
    for (const [path, node] of expected) {
      // umoci cannot set a symlink's mode; Linux shows 0777 for every symlink anyway.
      assert.equal(real.tree.get(path), node, path);
    }
    assert.is(real.inodes.get('usr/bin/greet-again'), real.inodes.get('usr/bin/greet'));
  },
);

embedded.run();
