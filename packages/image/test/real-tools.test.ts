// Images made by real tools: buildah builds from scratch, buildah/skopeo export as OCI layout (gzip and zstd),
// OCI archive and docker archive; umoci unpacks the same image and builds multi-arch layouts.
import { execFileSync, spawnSync } from 'node:child_process';
import { link, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chainIds, hostPlatform, type Image, openImage } from '../src/index.js';
import { cleanup, tempDir } from './fixtures.js';
import { flattenModel, type LayerEntry, layerEntries, walkTree } from './tool-model.js';

const ctx: { dir?: string; exports?: Record<string, string> } = {};
const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (buildah from scratch with vfs storage needs root here)';
  for (const tool of ['buildah', 'skopeo', 'umoci', 'getfattr', 'setfattr'])
    if (!have(tool)) return `${tool} not installed`;
  return undefined;
}
const skip = whyNot();

/** Two layers: base files (hardlink, symlink, xattr, nested dir), then deletions and an addition. */
async function buildWithBuildah(dir: string): Promise<string> {
  const b = ['--storage-driver', 'vfs', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot')];
  const buildah = (...args: string[]) => run('buildah', [...b, ...args]);
  const c1 = buildah('from', 'scratch');
  const m1 = buildah('mount', c1);
  await mkdir(join(m1, 'etc'), { recursive: true });
  await mkdir(join(m1, 'data/sub'), { recursive: true });
  await mkdir(join(m1, 'keep'), { recursive: true });
  await writeFile(join(m1, 'etc/hello'), 'hello\n', { mode: 0o640 });
  await writeFile(join(m1, 'data/sub/f'), 'x'.repeat(70_000));
  await writeFile(join(m1, 'keep/old'), 'old');
  await writeFile(join(m1, 'tool'), '#!/bin/sh\n', { mode: 0o4755 });
  await symlink('hello', join(m1, 'etc/link'));
  await link(join(m1, 'etc/hello'), join(m1, 'etc/hard'));
  run('setfattr', ['-n', 'user.note', '-v', 'abc', join(m1, 'etc/hello')]);
  run('chown', ['1000:1001', join(m1, 'keep/old')]);
  buildah('commit', '-q', c1, 'ovl-test-base');
  const c2 = buildah('from', 'ovl-test-base');
  const m2 = buildah('mount', c2);
  await rm(join(m2, 'etc/link'));
  await rm(join(m2, 'data'), { recursive: true });
  await writeFile(join(m2, 'new'), 'new\n');
  buildah('commit', '-q', c2, 'ovl-test-top');
  const oci = join(dir, 'oci');
  buildah('push', '-q', 'ovl-test-top', `oci:${oci}:v2`);
  return oci;
}

const tools = suite('images made by buildah, skopeo and umoci');
tools.before(async () => {
  if (skip) return;
  ctx.dir = await tempDir('tools');
  const oci = await buildWithBuildah(ctx.dir);
  const d = ctx.dir;
  const exports: Record<string, string> = { oci };
  exports['docker-archive'] = join(d, 'docker.tar');
  run('skopeo', ['copy', '-q', `oci:${oci}:v2`, `docker-archive:${exports['docker-archive']}:ovl/test:v2`]);
  exports['oci-archive'] = join(d, 'oci.tar');
  run('skopeo', ['copy', '-q', `oci:${oci}:v2`, `oci-archive:${exports['oci-archive']}:v2`]);
  exports['oci-zstd'] = join(d, 'oci-zstd');
  run('skopeo', [
    'copy',
    '-q',
    '--dest-compress-format',
    'zstd',
    `oci:${oci}:v2`,
    `oci:${exports['oci-zstd']}:v2`,
  ]);
  exports['docker→oci'] = join(d, 'roundtrip');
  run('skopeo', [
    'copy',
    '-q',
    `docker-archive:${exports['docker-archive']}`,
    `oci:${exports['docker→oci']}:v2`,
  ]);
  ctx.exports = exports;
});
tools.after(async () => cleanup(ctx.dir));

tools('every export of the image: same DiffIDs and chain IDs, every layer verified', async () => {
  if (skip) return console.log(`skipped: ${skip}`);
  const images: Record<string, Image> = {};
  for (const [name, path] of Object.entries(ctx.exports!)) images[name] = await openImage(path);
  const ref = images.oci!;
  assert.is(ref.layers.length, 2);
  assert.equal(ref.platform, hostPlatform());
  for (const [name, image] of Object.entries(images)) {
    assert.equal(image.diffIds, ref.diffIds, name);
    assert.equal(image.chainIds, chainIds(ref.diffIds), name);
    for (const layer of image.layers) {
      for await (const _ of layer.open());
    }
  }
  assert.equal(images['docker-archive']!.refs, ['docker.io/ovl/test:v2']);
  const byTag = await openImage(ctx.exports!['docker-archive']!, { ref: 'ovl/test:v2' });
  assert.is(byTag.configDigest, ref.configDigest);
  assert.is(images['docker-archive']!.format, 'docker-archive');
  assert.is(images['oci-archive']!.container, 'tar');
  assert.equal(
    images['oci-zstd']!.layers.map((l) => l.compression),
    ['zstd', 'zstd'],
  );
  assert.equal(
    ref.layers.map((l) => l.compression),
    ['gzip', 'gzip'],
  );
});

tools(
  'layer streams applied in order give the tree umoci unpacks (types, modes, owners, content, links, xattrs)',
  async () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const bundle = join(ctx.dir!, 'bundle');
    run('umoci', ['unpack', '--image', `${ctx.exports!.oci}:v2`, bundle]);
    const real = await walkTree(join(bundle, 'rootfs'));
    for (const [name, path] of Object.entries(ctx.exports!)) {
      const image = await openImage(path);
      const layers: LayerEntry[][] = [];
      for (const layer of image.layers) layers.push(await layerEntries(layer.open()));
      const names = layers[1]!.map((e) => e.name);
      assert.ok(names.includes('etc/.wh.link'), `${name}: whiteout of the symlink in the top layer`);
      assert.ok(names.includes('.wh.data'), `${name}: whiteout of the directory in the top layer`);
      const model = flattenModel(layers);
      assert.equal([...model.tree.keys()].sort(), [...real.tree.keys()].sort(), `${name}: paths`);
      for (const [p, node] of model.tree) assert.equal(node, real.tree.get(p), `${name}: ${p}`);
      for (const [l, target] of model.links)
        assert.is(real.inodes.get(l), real.inodes.get(target), `${name}: hardlink ${l}`);
    }
    assert.equal(real.tree.get('etc/hello')!.xattrs, { 'user.note': 'abc' });
    assert.is(real.tree.get('tool')!.mode, 0o4755);
    assert.is(real.tree.get('keep/old')!.uid, 1000);
    assert.not.ok(real.tree.has('data'));
  },
);

tools('umoci-built layout with two architectures: the config platform picks the manifest', async () => {
  if (skip) return console.log(`skipped: ${skip}`);
  const layout = join(ctx.dir!, 'umoci');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:amd`]);
  run('umoci', ['config', '--image', `${layout}:amd`, '--architecture', 'amd64', '--os', 'linux']);
  run('umoci', ['new', '--image', `${layout}:arm`]);
  run('umoci', ['config', '--image', `${layout}:arm`, '--architecture', 'arm64', '--os', 'linux']);
  const bundle = join(ctx.dir!, 'umoci-bundle');
  run('umoci', ['unpack', '--image', `${layout}:arm`, bundle]);
  await writeFile(join(bundle, 'rootfs', 'only-arm'), 'arm');
  run('umoci', ['repack', '--image', `${layout}:arm`, bundle]);
  const arm = await openImage(layout, { platform: 'linux/arm64' });
  assert.equal(arm.refs, ['arm']);
  assert.is(arm.layers.length, 1);
  const entries = await layerEntries(arm.layers[0]!.open());
  assert.ok(entries.some((e) => e.name === 'only-arm'));
  const amd = await openImage(layout, { platform: 'linux/amd64' });
  assert.equal(amd.refs, ['amd']);
  assert.is(amd.layers.length, 0);
  const none = await openImage(layout, { platform: 'linux/riscv64' }).catch((e) => e);
  assert.is(none.code, 'ERR_OVL_NO_MATCHING_PLATFORM');
  assert.match(none.message, 'linux/amd64, linux/arm64');
});

tools.run();
