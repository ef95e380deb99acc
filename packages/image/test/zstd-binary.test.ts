// zstd layers through the `zstd` binary (Node 20 has no zlib zstd): the same bytes as fzstd gives, a
// corrupt blob is ERR_OVL_BAD_LAYER with zstd's own message, and a reader that stops early leaves no
// zstd process behind.
import { execFileSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ImageError, openImage } from '../src/index.js';
import { cleanup, hasZstd, LayoutWriter, layerTar, readAll, tempDir } from './fixtures.js';

const test = suite('zstd layers through the zstd binary');
const ctx: { dir?: string } = {};
test.after.each(async () => {
  delete process.env.OVL_ZSTD;
  await cleanup(ctx.dir);
});

const nativeZstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
/** Whether the binary path cannot run here (said on the console). */
function skip(what: string): boolean {
  const why = !hasZstd ? 'no zstd binary on PATH' : nativeZstd ? 'this Node decodes zstd itself' : undefined;
  if (why) console.log(`  skip: ${what}: ${why}`);
  return why !== undefined;
}

async function zstdImage(dir: string, tar: Buffer) {
  const w = new LayoutWriter(dir);
  const img = w.image({ layers: [{ tar, compression: 'zstd' }] });
  await w.write([img.descriptor]);
  return openImage(dir, { platform: 'amd64' });
}

/** zstd processes whose parent is this one. */
function zstdChildren(): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-x', 'zstd'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test('a zstd layer decodes to the same tar through the binary and through fzstd', async () => {
  if (skip('binary vs fzstd')) return;
  ctx.dir = await tempDir('zstd-same');
  const tar = await layerTar([
    { name: 'big', content: Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 7) % 253)) },
    { name: 'small', content: 'hi' },
  ]);
  const image = await zstdImage(ctx.dir, tar);
  const viaBinary = await readAll(image.layers[0]!.open());
  process.env.OVL_ZSTD = 'js';
  const viaJs = await readAll(image.layers[0]!.open());
  assert.ok(viaBinary.equals(tar), 'binary: the layer tar, byte for byte (and its DiffID checked)');
  assert.ok(viaJs.equals(tar), 'fzstd: the same');
});

test("bytes that are not zstd: ERR_OVL_BAD_LAYER carrying zstd's message", async () => {
  if (skip('corrupt zstd')) return;
  ctx.dir = await tempDir('zstd-garbage');
  // A blob of text under a zstd media type: the digests match, only decoding can fail.
  const w = new LayoutWriter(ctx.dir);
  const garbage = Buffer.from('this is not a zstd frame at all, just text '.repeat(100));
  const img = w.image({
    layers: [{ tar: garbage, compression: 'none', mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }],
  });
  await w.write([img.descriptor]);
  const layer = (await openImage(ctx.dir, { platform: 'amd64' })).layers[0]!;
  assert.is(layer.compression, 'zstd');
  const err = (await readAll(layer.open()).catch((e) => e)) as ImageError;
  assert.instance(err, Error);
  assert.is(err.code, 'ERR_OVL_BAD_LAYER', err.message);
  assert.match(err.message, /zstd -d failed/);
  assert.equal(zstdChildren(), []);
});

test('a reader that stops early: the zstd process is gone', async () => {
  if (skip('early stop')) return;
  ctx.dir = await tempDir('zstd-early');
  const tar = await layerTar([
    { name: 'big', content: Buffer.from(Array.from({ length: 8_000_000 }, (_, i) => (i * 13) % 251)) },
  ]);
  const image = await zstdImage(ctx.dir, tar);
  const stream = image.layers[0]!.open();
  await new Promise<void>((resolve) => stream.once('data', () => resolve()));
  assert.ok(zstdChildren().length >= 1, 'zstd runs while the layer is read');
  stream.destroy();
  for (let i = 0; i < 100 && zstdChildren().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(zstdChildren(), []);
});

test.run();
