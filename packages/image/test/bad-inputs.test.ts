import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ImageError, openImage } from '../src/index.js';
import { cleanup, compress, hasZstd, LayoutWriter, layerTar, readAll, sha256, tempDir } from './fixtures.js';

const ctx: { dir?: string } = {};
const blob = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7));

/** Reads a stream to its end and returns the error it was destroyed with (or undefined if it ended). */
async function streamError(stream: NodeJS.ReadableStream): Promise<ImageError | undefined> {
  try {
    await readAll(stream);
    return undefined;
  } catch (err) {
    return err as ImageError;
  }
}

async function oneImage(
  dir: string,
  opts: { compression?: 'gzip' | 'zstd' | 'none'; diffIds?: string[]; bigSize?: number } = {},
) {
  const w = new LayoutWriter(dir);
  const tar = await layerTar([
    { name: 'big', content: Buffer.alloc(opts.bigSize ?? 300_000, 'z') },
    { name: 'small', content: 'hi' },
  ]);
  const img = w.image({ layers: [{ tar, compression: opts.compression ?? 'gzip' }], diffIds: opts.diffIds });
  await w.write([img.descriptor]);
  return { tar, img };
}

const bad = suite('bad inputs give typed errors naming the blob');
bad.after.each(async () => cleanup(ctx.dir));

bad(
  'a layer blob with other bytes than its digest: ERR_OVL_BAD_DIGEST on the stream, not an end',
  async () => {
    ctx.dir = await tempDir('bad-digest');
    const { img, tar } = await oneImage(ctx.dir, { compression: 'none' });
    const file = blob(ctx.dir, img.layers[0]!.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 2000]! ^= 1; // same length, one bit flipped inside the tar padding area
    await writeFile(file, bytes);
    const image = await openImage(ctx.dir, { platform: 'amd64' });
    for (const open of [() => image.layers[0]!.open(), () => image.layers[0]!.openRaw()]) {
      const err = await streamError(open());
      assert.is(err?.code, 'ERR_OVL_BAD_DIGEST');
      assert.is(err?.digest, img.layers[0]!.digest);
      assert.match(err!.message, img.layers[0]!.digest);
    }
    assert.ok(tar.length > 0);
  },
);

bad('a layer whose uncompressed bytes are not its DiffID: ERR_OVL_BAD_DIFFID', async () => {
  ctx.dir = await tempDir('bad-diffid');
  const wrong = sha256('not this layer');
  await oneImage(ctx.dir, { diffIds: [wrong] });
  const image = await openImage(ctx.dir, { platform: 'amd64' });
  assert.is((await streamError(image.layers[0]!.openRaw())) === undefined, true, 'the blob itself is fine');
  const err = await streamError(image.layers[0]!.open());
  assert.is(err?.code, 'ERR_OVL_BAD_DIFFID');
  assert.is(err?.digest, wrong);
  assert.match(err!.message, image.layers[0]!.digest);
});

bad('a missing layer blob: ERR_OVL_MISSING_BLOB at open time', async () => {
  ctx.dir = await tempDir('missing');
  const { img } = await oneImage(ctx.dir);
  await rm(blob(ctx.dir, img.layers[0]!.digest));
  const err = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_MISSING_BLOB');
  assert.is(err.digest, img.layers[0]!.digest);
});

bad('a missing config blob: ERR_OVL_MISSING_BLOB', async () => {
  ctx.dir = await tempDir('missing-config');
  const { img } = await oneImage(ctx.dir);
  await rm(blob(ctx.dir, img.config.digest));
  const err = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_MISSING_BLOB');
  assert.is(err.digest, img.config.digest);
});

bad('an altered manifest is refused before use: ERR_OVL_BAD_DIGEST', async () => {
  ctx.dir = await tempDir('bad-manifest');
  const { img } = await oneImage(ctx.dir);
  const file = blob(ctx.dir, img.descriptor.digest);
  const text = (await readFile(file, 'utf8')).replace('"schemaVersion":2', '"schemaVersion":3');
  await writeFile(file, text);
  const err = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_BAD_DIGEST');
  assert.is(err.digest, img.descriptor.digest);
});

for (const compression of ['gzip', 'zstd'] as const) {
  bad(`a truncated ${compression} layer: ERR_OVL_BAD_LAYER (or the digest check)`, async () => {
    if (compression === 'zstd' && !hasZstd) {
      console.log('zstd binary not found; truncated zstd case skipped');
      return;
    }
    ctx.dir = await tempDir(`truncated-${compression}`);
    const w = new LayoutWriter(ctx.dir);
    const tar = await layerTar([
      { name: 'big', content: Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251)) },
    ]);
    const whole = compress(tar, compression);
    // The descriptor describes the truncated bytes, so only decompression can notice.
    const cut = w.add(whole.subarray(0, Math.floor(whole.length / 2)));
    const config = w.json({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    });
    const manifest = w.json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.size,
      },
      layers: [
        {
          mediaType: `application/vnd.oci.image.layer.v1.tar+${compression}`,
          digest: cut.digest,
          size: cut.size,
        },
      ],
    });
    await w.write([
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifest.digest,
        size: manifest.size,
      },
    ]);
    const image = await openImage(ctx.dir, { platform: 'amd64' });
    const err = await streamError(image.layers[0]!.open());
    assert.is(err?.code, 'ERR_OVL_BAD_LAYER');
    assert.is(err?.digest, cut.digest);
  });
}

bad('a layer file cut short on disk: ERR_OVL_BAD_DIGEST (size below the descriptor)', async () => {
  ctx.dir = await tempDir('short-file');
  const { img } = await oneImage(ctx.dir);
  await truncate(blob(ctx.dir, img.layers[0]!.digest), 100);
  const image = await openImage(ctx.dir, { platform: 'amd64' });
  const err = await streamError(image.layers[0]!.openRaw());
  assert.is(err?.code, 'ERR_OVL_BAD_DIGEST');
  assert.match(err!.message, 'declares');
});

bad('an unknown layer media type: ERR_OVL_UNSUPPORTED_MEDIA_TYPE naming it', async () => {
  ctx.dir = await tempDir('unknown-type');
  const w = new LayoutWriter(ctx.dir);
  const img = w.image({
    layers: [
      {
        tar: await layerTar([{ name: 'a', content: 'a' }]),
        mediaType: 'application/vnd.example.layer.v1.squashfs',
      },
    ],
  });
  await w.write([img.descriptor]);
  const err = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_UNSUPPORTED_MEDIA_TYPE');
  assert.match(err.message, 'application/vnd.example.layer.v1.squashfs');
});

bad('an unknown config media type and an index of only unknown entries are typed errors too', async () => {
  ctx.dir = await tempDir('unknown-config');
  const w = new LayoutWriter(ctx.dir);
  const img = w.image({
    layers: [{ tar: await layerTar([{ name: 'a', content: 'a' }]) }],
    configMediaType: 'application/vnd.example.config+json',
  });
  await w.write([img.descriptor]);
  const err = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_UNSUPPORTED_MEDIA_TYPE');
  assert.match(err.message, 'application/vnd.example.config+json');
  await w.write([{ ...img.descriptor, mediaType: 'application/vnd.example.artifact+json' }]);
  const err2 = await openImage(ctx.dir, { platform: 'amd64' }).catch((e) => e);
  assert.is(err2.code, 'ERR_OVL_UNSUPPORTED_MEDIA_TYPE');
  assert.match(err2.message, 'application/vnd.example.artifact+json');
});

bad('no matching platform: ERR_OVL_NO_MATCHING_PLATFORM listing what is there', async () => {
  ctx.dir = await tempDir('no-platform');
  const w = new LayoutWriter(ctx.dir);
  const tar = await layerTar([{ name: 'a', content: 'a' }]);
  const arm = w.image({ layers: [{ tar }], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  const ppc = w.image({ layers: [{ tar }], platform: { os: 'linux', architecture: 'ppc64le' } });
  await w.write([
    { ...arm.descriptor, platform: arm.platform },
    { ...ppc.descriptor, platform: ppc.platform },
  ]);
  const err = await openImage(ctx.dir, { platform: 'linux/s390x' }).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_NO_MATCHING_PLATFORM');
  assert.match(err.message, 'linux/s390x');
  assert.match(err.message, 'linux/arm64/v8, linux/ppc64le');
});

bad('a digest that would escape blobs/ is refused: ERR_OVL_BAD_IMAGE', async () => {
  ctx.dir = await tempDir('escape');
  const w = new LayoutWriter(ctx.dir);
  await w.write([
    {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: 'sha256:../../../etc/passwd',
      size: 1,
    },
  ]);
  const err = await openImage(ctx.dir).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_BAD_IMAGE');
});

bad('a directory that is no image: ERR_OVL_BAD_IMAGE saying what to give', async () => {
  ctx.dir = await tempDir('empty');
  const err = await openImage(ctx.dir).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_BAD_IMAGE');
  assert.match(err.message, 'index.json');
  assert.equal(await readdir(ctx.dir), []);
});

bad('a path where nothing is: ERR_OVL_IMAGE_NOT_FOUND naming it', async () => {
  ctx.dir = await tempDir('nothing');
  const missing = join(ctx.dir, 'no-such-image');
  const err = await openImage(missing).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_IMAGE_NOT_FOUND');
  assert.is(err.path, missing);
  assert.match(err.message, missing);
});

bad('a blob deleted after openImage: the stream fails with ERR_OVL_MISSING_BLOB', async () => {
  ctx.dir = await tempDir('vanished');
  const { img } = await oneImage(ctx.dir);
  const image = await openImage(ctx.dir, { platform: 'amd64' });
  await rm(blob(ctx.dir, img.layers[0]!.digest));
  const err = await streamError(image.layers[0]!.open());
  assert.is(err?.code, 'ERR_OVL_MISSING_BLOB');
});

bad('aborting a layer stream destroys it with the abort reason', async () => {
  ctx.dir = await tempDir('abort');
  // Several of gunzip's 1 MiB output chunks, so that stopping early is visible.
  const { tar } = await oneImage(ctx.dir, { bigSize: 8_000_000 });
  const image = await openImage(ctx.dir, { platform: 'amd64' });
  const ac = new AbortController();
  const stream = image.layers[0]!.open({ signal: ac.signal });
  const reason = new Error('user cancelled');
  let seen = 0;
  const err = await (async () => {
    try {
      for await (const chunk of stream) {
        seen += (chunk as Buffer).length;
        ac.abort(reason);
      }
    } catch (e) {
      return e;
    }
  })();
  assert.is(err, reason);
  assert.ok(seen > 0 && seen < tar.length / 2, `stopped early (${seen} of ${tar.length} bytes)`);
});

bad('a non-distributable layer that is absent: openImage succeeds, open() names its URLs', async () => {
  ctx.dir = await tempDir('foreign');
  const w = new LayoutWriter(ctx.dir);
  const tar = await layerTar([{ name: 'a', content: 'a' }]);
  const img = w.image({
    layers: [{ tar, mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' }],
  });
  const manifest = JSON.parse(img.manifest.bytes.toString());
  manifest.layers[0].urls = ['https://example.invalid/layer.tgz'];
  const m = w.json(manifest);
  w.blobs.delete(img.layers[0]!.digest);
  await w.write([
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: m.digest, size: m.size },
  ]);
  const image = await openImage(ctx.dir, { platform: 'amd64' });
  assert.equal(image.layers[0]!.urls, ['https://example.invalid/layer.tgz']);
  const err = await streamError(image.layers[0]!.open());
  assert.is(err?.code, 'ERR_OVL_MISSING_BLOB');
  assert.match(err!.message, 'https://example.invalid/layer.tgz');
});

bad('a reader that stops early leaves no file descriptor open', async () => {
  ctx.dir = await tempDir('early-close');
  // Big enough that the blob's file is still being read when the reader gives up.
  const w = new LayoutWriter(ctx.dir);
  const tar = await layerTar([{ name: 'random', content: randomBytes(4 << 20) }]);
  const img = w.image({ layers: [{ tar, compression: 'none' }] });
  await w.write([img.descriptor]);
  const image = await openImage(ctx.dir, { platform: 'amd64' });
  const fds = async () => (await readdir('/proc/self/fd')).length;
  const before = await fds();
  for (let i = 0; i < 20; i++) {
    const stream = image.layers[0]!.open();
    await new Promise((resolve) => stream.once('data', resolve));
    stream.destroy();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok((await fds()) <= before + 1, `descriptors: ${before} before, ${await fds()} after`);
});

bad.run();
