import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chainIds, openImage } from '../src/index.js';
import {
  cleanup,
  LayoutWriter,
  layerTar,
  readAll,
  sha256,
  tarDirectory,
  tempDir,
  writeDockerArchiveDir,
} from './fixtures.js';

const ctx: { dir?: string } = {};
const docker = suite('docker save archives');
docker.after.each(async () => cleanup(ctx.dir));

docker(
  'legacy format (manifest.json, <id>.json, <id>/layer.tar), a repeated layer stored as a symlink',
  async () => {
    ctx.dir = await tempDir('docker');
    const src = join(ctx.dir, 'src');
    const base = await layerTar([{ name: 'etc/os-release', content: 'ID=test\n' }]);
    const top = await layerTar([{ name: 'app', content: 'run' }]);
    const { diffIds, configDigest } = await writeDockerArchiveDir(src, {
      layers: [base, top, base],
      repoTags: ['example:1.0'],
    });
    const file = join(ctx.dir, 'image.tar');
    tarDirectory(src, file);
    for (const path of [file, src]) {
      const image = await openImage(path, { platform: 'linux/amd64' });
      assert.is(image.format, 'docker-archive');
      assert.is(image.container, path === file ? 'tar' : 'directory');
      assert.equal(image.refs, ['example:1.0']);
      assert.is(image.configDigest, configDigest);
      assert.is(image.manifestDigest, undefined);
      assert.equal(image.diffIds, diffIds);
      assert.equal(image.chainIds, chainIds(diffIds));
      assert.is.not(image.chainIds[2], image.chainIds[0], 'same layer, different position, different chain');
      assert.equal(
        image.layers.map((l) => [l.compression, l.mediaType, l.digest]),
        diffIds.map((d) => ['none', 'application/vnd.docker.image.rootfs.diff.tar', d]),
      );
      const expected = [base, top, base];
      for (const [i, layer] of image.layers.entries()) {
        assert.ok((await readAll(layer.open())).equals(expected[i]!), `${path} layer ${i}`);
      }
    }
  },
);

docker(
  'gzip-compressed layers inside a docker archive are sniffed and their blob digest computed',
  async () => {
    ctx.dir = await tempDir('docker-gz');
    const base = await layerTar([{ name: 'a', content: 'a'.repeat(5000) }]);
    await writeDockerArchiveDir(ctx.dir, { layers: [base], compress: 'gzip' });
    const image = await openImage(ctx.dir, { platform: 'amd64' });
    const layer = image.layers[0]!;
    assert.is(layer.compression, 'gzip');
    assert.is(layer.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    const raw = await readAll(layer.openRaw());
    assert.is(layer.digest, sha256(raw));
    assert.ok((await readAll(layer.open())).equals(base));
  },
);

docker('a tampered legacy layer fails its DiffID; a tampered config fails its image ID', async () => {
  ctx.dir = await tempDir('docker-bad');
  const base = await layerTar([{ name: 'a', content: 'a'.repeat(5000) }]);
  const { configDigest } = await writeDockerArchiveDir(ctx.dir, { layers: [base] });
  const manifest = JSON.parse(await readFile(join(ctx.dir, 'manifest.json'), 'utf8'));
  const layerFile = join(ctx.dir, manifest[0].Layers[0]);
  const bytes = await readFile(layerFile);
  bytes[600] = 0x62; // 'a' → 'b' inside the file's content
  await writeFile(layerFile, bytes);
  const image = await openImage(ctx.dir, { platform: 'amd64' });
  const err = await readAll(image.layers[0]!.open()).catch((e) => e);
  // A legacy layer's only recorded digest is its DiffID: both checks see the same bytes.
  assert.ok(['ERR_OVL_BAD_DIGEST', 'ERR_OVL_BAD_DIFFID'].includes(err.code), err.message);
  const configFile = join(ctx.dir, manifest[0].Config);
  await writeFile(configFile, (await readFile(configFile, 'utf8')).replace('amd64', 'arm64'));
  const err2 = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err2.code, 'ERR_OVL_BAD_DIGEST');
  assert.match(err2.message, configDigest);
  await rm(layerFile);
});

docker('missing layer file, several images, unknown tag', async () => {
  ctx.dir = await tempDir('docker-multi');
  const a = await layerTar([{ name: 'a', content: 'a' }]);
  await writeDockerArchiveDir(ctx.dir, { layers: [a], repoTags: ['a:1'] });
  const manifest = JSON.parse(await readFile(join(ctx.dir, 'manifest.json'), 'utf8'));
  manifest.push({ ...manifest[0], RepoTags: ['b:2'] });
  await writeFile(join(ctx.dir, 'manifest.json'), JSON.stringify(manifest));
  const ambiguous = await openImage(ctx.dir).catch((e) => e);
  assert.is(ambiguous.code, 'ERR_OVL_AMBIGUOUS_IMAGE');
  assert.match(ambiguous.message, 'a:1, b:2');
  assert.equal((await openImage(ctx.dir, { ref: 'b:2', platform: 'amd64' })).refs, ['b:2']);
  assert.is(
    (await openImage(ctx.dir, { ref: 'c', platform: 'amd64' }).catch((e) => e)).code,
    'ERR_OVL_REF_NOT_FOUND',
  );
  await rm(join(ctx.dir, manifest[0].Layers[0]));
  const missing = await openImage(ctx.dir, { ref: 'a:1', platform: 'amd64' }).catch((e) => e);
  assert.is(missing.code, 'ERR_OVL_MISSING_BLOB');
  assert.match(missing.message, manifest[0].Layers[0]);
});

docker('an arm64 docker archive on an amd64 request: ERR_OVL_NO_MATCHING_PLATFORM', async () => {
  ctx.dir = await tempDir('docker-arch');
  await writeDockerArchiveDir(ctx.dir, {
    layers: [await layerTar([{ name: 'a', content: 'a' }])],
    config: { architecture: 'arm64', variant: 'v8' },
  });
  const err = await openImage(ctx.dir, { platform: 'linux/amd64' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_NO_MATCHING_PLATFORM');
  assert.match(err.message, 'linux/arm64/v8');
  assert.equal((await openImage(ctx.dir, { platform: 'linux/arm64' })).platform, {
    os: 'linux',
    architecture: 'arm64',
    variant: 'v8',
  });
});

docker(
  'newer docker save (OCI layout plus manifest.json): read as an OCI layout, tags from annotations',
  async () => {
    ctx.dir = await tempDir('docker-oci');
    const w = new LayoutWriter(ctx.dir);
    const tar = await layerTar([{ name: 'etc/issue', content: 'docker 25\n' }]);
    const img = w.image({ layers: [{ tar, compression: 'none' }] });
    await w.write([
      {
        ...img.descriptor,
        annotations: {
          'io.containerd.image.name': 'docker.io/library/busy:1.36',
          'org.opencontainers.image.ref.name': '1.36',
        },
      },
    ]);
    await writeFile(
      join(ctx.dir, 'manifest.json'),
      JSON.stringify([
        {
          Config: `blobs/sha256/${img.config.digest.slice(7)}`,
          RepoTags: ['busy:1.36'],
          Layers: [`blobs/sha256/${img.layers[0]!.digest.slice(7)}`],
        },
      ]),
    );
    const image = await openImage(ctx.dir, { ref: 'busy:1.36', platform: 'amd64' });
    assert.is(image.format, 'oci-layout');
    assert.is(image.manifestDigest, img.descriptor.digest);
    assert.equal(image.refs, ['1.36', 'docker.io/library/busy:1.36']);
    assert.ok((await readAll(image.layers[0]!.open())).equals(tar));
    // Without index.json the same files are a manifest.json archive whose blob names promise their digests.
    await rm(join(ctx.dir, 'index.json'));
    const legacy = await openImage(ctx.dir, { platform: 'amd64' });
    assert.is(legacy.format, 'docker-archive');
    assert.is(legacy.configDigest, img.config.digest);
    assert.is(legacy.layers[0]!.digest, img.layers[0]!.digest);
    assert.ok((await readAll(legacy.layers[0]!.open())).equals(tar));
  },
);

docker.run();
