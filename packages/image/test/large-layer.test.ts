// A layer far larger than the memory the reader may use: an OCI layout *tar* whose layer blob is 512 MiB
// (written sparse, so the test costs little disk), read through open() while the process RSS is sampled.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openImage } from '../src/index.js';
import { cleanup, tempDir } from './fixtures.js';

const SIZE = 512 * 1024 * 1024;
const ctx: { dir?: string } = {};

/** A tar header (ustar), enough for this test's members. */
function header(name: string, size: number, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test.after(async () => cleanup(ctx.dir));

test('a 512 MiB layer streams from an OCI tar with bounded memory, digest and DiffID verified', async () => {
  ctx.dir = await tempDir('large');
  // The layer: one file of zeros. Its tar is header + zeros + padding + two zero blocks: all zeros after 512 bytes.
  const inner = header('zeros', SIZE - 512 - 1024);
  const zeros = Buffer.alloc(1 << 20);
  const hash = createHash('sha256').update(inner);
  for (let left = SIZE - 512; left > 0; left -= zeros.length)
    hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
  const layerDigest = `sha256:${hash.digest('hex')}`;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha(config),
        size: config.length,
      },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: SIZE }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha(manifest),
          size: manifest.length,
        },
      ],
    }),
  );
  const file = join(ctx.dir, 'image.tar');
  const fh = await open(file, 'w');
  let pos = 0;
  const put = async (b: Buffer) => {
    await fh.write(b, 0, b.length, pos);
    pos += b.length;
  };
  for (const [name, data] of [
    ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
    ['index.json', index],
    [`blobs/sha256/${sha(config).slice(7)}`, config],
    [`blobs/sha256/${sha(manifest).slice(7)}`, manifest],
  ] as Array<[string, Buffer]>) {
    await put(header(name, data.length));
    await put(Buffer.concat([data, pad(data.length)]));
  }
  await put(header(`blobs/sha256/${layerDigest.slice(7)}`, SIZE));
  await put(inner);
  pos += SIZE - 512; // zeros: left as a hole
  await fh.truncate(pos + 1024);
  await fh.close();

  const image = await openImage(file, { platform: 'linux/amd64' });
  const before = process.memoryUsage().rss;
  let peak = before;
  let bytes = 0;
  for await (const chunk of image.layers[0]!.open()) {
    bytes += (chunk as Buffer).length;
    if ((bytes & 0xfffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.is(bytes, SIZE);
  const grewMiB = (peak - before) / 2 ** 20;
  console.log(`large layer: ${SIZE / 2 ** 20} MiB streamed, RSS grew ${grewMiB.toFixed(1)} MiB`);
  assert.ok(grewMiB < 96, `RSS grew ${grewMiB.toFixed(1)} MiB while streaming a 512 MiB layer`);
});

test.run();
