import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chainIds, openImage } from '../src/index.js';
import {
  cleanup,
  hasZstd,
  LayoutWriter,
  layerTar,
  readAll,
  sha256,
  tarDirectory,
  tempDir,
} from './fixtures.js';

const ctx: { dir?: string } = {};

async function threeLayerLayout(dir: string) {
  const w = new LayoutWriter(dir);
  const tars = [
    await layerTar([
      { name: 'etc', type: 'directory' },
      { name: 'etc/hostname', content: 'base\n' },
    ]),
    await layerTar([{ name: 'etc/motd', content: 'x'.repeat(100_000) }]),
    await layerTar([{ name: '.wh.etc', content: '' }]),
  ];
  const img = w.image({
    layers: [
      { tar: tars[0]!, compression: 'gzip' },
      { tar: tars[1]!, compression: hasZstd ? 'zstd' : 'gzip' },
      { tar: tars[2]!, compression: 'none' },
    ],
  });
  await w.write([{ ...img.descriptor, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }]);
  return { tars, img };
}

const layout = suite('OCI layout');
layout.after.each(async () => cleanup(ctx.dir));

layout(
  'directory: manifest, config, diffIDs, chain IDs and each layer decompressed byte for byte',
  async () => {
    ctx.dir = await tempDir('layout');
    if (!hasZstd) console.log('zstd binary missing: the zstd layer is written as gzip instead');
    const { tars, img } = await threeLayerLayout(ctx.dir);
    const image = await openImage(ctx.dir, { platform: 'linux/amd64' });
    assert.is(image.format, 'oci-layout');
    assert.is(image.container, 'directory');
    assert.equal(image.refs, ['latest']);
    assert.is(image.manifestDigest, img.descriptor.digest);
    assert.is(image.configDigest, img.config.digest);
    assert.equal(image.platform, { os: 'linux', architecture: 'amd64' });
    assert.equal(
      image.diffIds,
      tars.map((t) => sha256(t)),
    );
    assert.equal(image.chainIds, chainIds(image.diffIds));
    assert.equal(
      image.layers.map((l) => [l.index, l.compression, l.digest, l.size]),
      [
        [0, 'gzip', img.layers[0]!.digest, img.layers[0]!.size],
        [1, hasZstd ? 'zstd' : 'gzip', img.layers[1]!.digest, img.layers[1]!.size],
        [2, 'none', img.layers[2]!.digest, img.layers[2]!.size],
      ],
    );
    assert.is(image.layers[0]!.parentChainId, undefined);
    assert.is(image.layers[2]!.parentChainId, image.chainIds[1]);
    for (const [i, layer] of image.layers.entries()) {
      assert.ok((await readAll(layer.open())).equals(tars[i]!), `layer ${i} decompressed bytes`);
      assert.ok((await readAll(layer.openRaw())).equals(img.layers[i]!.bytes), `layer ${i} raw bytes`);
    }
  },
);

layout('tar of a layout reads the same, by ranged reads of its members', async () => {
  ctx.dir = await tempDir('layout-tar');
  const src = join(ctx.dir, 'src');
  await mkdir(src);
  const { tars } = await threeLayerLayout(src);
  const file = join(ctx.dir, 'image.tar');
  tarDirectory(src, file);
  const image = await openImage(file, { platform: 'linux/amd64' });
  assert.is(image.container, 'tar');
  for (const [i, layer] of image.layers.entries()) {
    assert.ok((await readAll(layer.open())).equals(tars[i]!), `layer ${i}`);
  }
});

layout('nested index: the platform is found through an index inside index.json', async () => {
  ctx.dir = await tempDir('nested');
  const w = new LayoutWriter(ctx.dir);
  const amd = w.image({
    layers: [{ tar: await layerTar([{ name: 'arch', content: 'amd64' }]) }],
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const arm = w.image({
    layers: [{ tar: await layerTar([{ name: 'arch', content: 'arm64' }]) }],
    platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  });
  const armv7 = w.image({
    layers: [{ tar: await layerTar([{ name: 'arch', content: 'armv7' }]) }],
    platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
  });
  const nested = w.json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...amd.descriptor, platform: amd.platform },
      { ...arm.descriptor, platform: arm.platform },
      { ...armv7.descriptor, platform: armv7.platform },
    ],
  });
  await w.write([
    {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: nested.digest,
      size: nested.size,
      annotations: { 'org.opencontainers.image.ref.name': 'multi' },
    },
  ]);
  const pick = async (platform: string) => {
    const image = await openImage(ctx.dir!, { platform });
    return (await readAll(image.layers[0]!.open())).includes(
      Buffer.from(platform.split('/')[1]!.slice(0, 3)),
    );
  };
  assert.is((await openImage(ctx.dir, { platform: 'linux/arm64/v8' })).manifestDigest, arm.descriptor.digest);
  assert.is((await openImage(ctx.dir, { platform: 'arm64' })).manifestDigest, arm.descriptor.digest);
  assert.is((await openImage(ctx.dir, { platform: 'linux/aarch64' })).manifestDigest, arm.descriptor.digest);
  assert.is((await openImage(ctx.dir, { platform: 'linux/amd64' })).manifestDigest, amd.descriptor.digest);
  assert.is((await openImage(ctx.dir, { platform: 'linux/x86_64' })).manifestDigest, amd.descriptor.digest);
  // arm/v8 (32-bit) has no exact match; containerd falls back to arm/v7.
  assert.is((await openImage(ctx.dir, { platform: 'linux/arm/v8' })).manifestDigest, armv7.descriptor.digest);
  assert.is((await openImage(ctx.dir, { platform: 'linux/armhf' })).manifestDigest, armv7.descriptor.digest);
  assert.ok(await pick('linux/amd64'));
  // The default is this machine's platform.
  const host = process.arch === 'x64' ? amd : process.arch === 'arm64' ? arm : undefined;
  if (host) assert.is((await openImage(ctx.dir)).manifestDigest, host.descriptor.digest);
  else console.log(`host arch ${process.arch} is in none of the test images; default-platform check skipped`);
  assert.equal((await openImage(ctx.dir, { ref: 'multi', platform: 'arm64' })).refs, ['multi']);
});

layout('ref picks among several images; without ref the choice is an error listing them', async () => {
  ctx.dir = await tempDir('refs');
  const w = new LayoutWriter(ctx.dir);
  const a = w.image({ layers: [{ tar: await layerTar([{ name: 'a', content: 'a' }]) }] });
  const b = w.image({ layers: [{ tar: await layerTar([{ name: 'b', content: 'b' }]) }] });
  const ref = (name: string) => ({ 'org.opencontainers.image.ref.name': name });
  await w.write([
    { ...a.descriptor, annotations: ref('a:1') },
    { ...b.descriptor, annotations: ref('b:2') },
  ]);
  assert.is(
    (await openImage(ctx.dir, { ref: 'b:2', platform: 'amd64' })).manifestDigest,
    b.descriptor.digest,
  );
  assert.is(
    (await openImage(ctx.dir, { ref: a.descriptor.digest, platform: 'amd64' })).manifestDigest,
    a.descriptor.digest,
  );
  const err = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_AMBIGUOUS_IMAGE');
  assert.match(err.message, 'a:1');
  assert.match(err.message, 'b:2');
  const missing = await openImage(ctx.dir, { ref: 'c', platform: 'amd64' }).catch((e) => e);
  assert.is(missing.code, 'ERR_OVL_REF_NOT_FOUND');
  assert.match(missing.message, 'a:1, b:2');
});

layout('Docker v2 media types and nondistributable OCI layers are read', async () => {
  ctx.dir = await tempDir('docker-types');
  const w = new LayoutWriter(ctx.dir);
  const tar0 = await layerTar([{ name: 'a', content: 'a' }]);
  const tar1 = await layerTar([{ name: 'b', content: 'b' }]);
  const img = w.image({
    layers: [
      { tar: tar0, compression: 'gzip', mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' },
      {
        tar: tar1,
        compression: 'gzip',
        mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
      },
    ],
    configMediaType: 'application/vnd.docker.container.image.v1+json',
  });
  // Rewrite the manifest as a Docker v2 schema 2 manifest inside a Docker manifest list.
  const manifest = JSON.parse(img.manifest.bytes.toString());
  manifest.mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
  const m = w.json(manifest);
  const list = w.json({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [
      {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest: m.digest,
        size: m.size,
        platform: { os: 'linux', architecture: 'amd64' },
      },
    ],
  });
  await w.write([
    {
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      digest: list.digest,
      size: list.size,
    },
  ]);
  const image = await openImage(ctx.dir, { platform: 'linux/amd64' });
  assert.is(image.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(
    image.layers.map((l) => l.compression),
    ['gzip', 'gzip'],
  );
  assert.ok((await readAll(image.layers[1]!.open())).equals(tar1));
});

layout('a manifest whose config names no platform is usable anywhere', async () => {
  ctx.dir = await tempDir('noplatform');
  const w = new LayoutWriter(ctx.dir);
  const tar = await layerTar([{ name: 'a', content: 'a' }]);
  const config = w.json({ rootfs: { type: 'layers', diff_ids: [sha256(tar)] } });
  const layer = w.add(tar);
  const manifest = w.json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: config.digest,
      size: config.size,
    },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  });
  await w.write([
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest.digest, size: manifest.size },
  ]);
  const image = await openImage(ctx.dir, { platform: 'linux/s390x' });
  assert.is(image.layers.length, 1);
  assert.ok((await readAll(image.layers[0]!.open())).equals(tar));
});

layout('a layer blob stored once serves two images (the same bytes, the same chain)', async () => {
  ctx.dir = await tempDir('shared');
  const w = new LayoutWriter(ctx.dir);
  const base = await layerTar([{ name: 'base', content: 'shared' }]);
  const a = w.image({ layers: [{ tar: base }, { tar: await layerTar([{ name: 'a', content: 'a' }]) }] });
  const b = w.image({ layers: [{ tar: base }, { tar: await layerTar([{ name: 'b', content: 'b' }]) }] });
  await w.write([
    { ...a.descriptor, annotations: { 'org.opencontainers.image.ref.name': 'a' } },
    { ...b.descriptor, annotations: { 'org.opencontainers.image.ref.name': 'b' } },
  ]);
  const ia = await openImage(ctx.dir, { ref: 'a', platform: 'amd64' });
  const ib = await openImage(ctx.dir, { ref: 'b', platform: 'amd64' });
  assert.is(ia.chainIds[0], ib.chainIds[0]);
  assert.is.not(ia.chainIds[1], ib.chainIds[1]);
});

layout.run();
