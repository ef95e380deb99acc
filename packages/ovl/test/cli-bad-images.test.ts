// Broken images get the documented exit code and an error that names the problem, and leave the store
// exactly as it was: no half-unpacked layer, no stray record.
import { cpSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openImage } from '@ovl/image';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedImage, ovl, removeDir, tempDir } from './helpers/cli.js';

const Bad = suite('ovl unpack of broken images');
const ctx = { work: '' };
Bad.before.each(() => {
  ctx.work = tempDir('bad');
});
Bad.after.each(() => removeDir(ctx.work));

/** A copy of the embedded image with one layer blob damaged by `damage`. */
async function damagedImage(
  damage: (blobPath: string, index: Record<string, unknown>) => void,
): Promise<string> {
  const dir = join(ctx.work, 'image');
  cpSync(embeddedImage, dir, { recursive: true });
  const image = await openImage(dir);
  const top = image.layers.at(-1)!;
  damage(
    join(dir, 'blobs', 'sha256', top.digest.replace('sha256:', '')),
    image.manifest as Record<string, unknown>,
  );
  return dir;
}

function storeEntries(home: string): string[] {
  const walk = (d: string, rel: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = `${rel}/${e.name}`;
      // Lock and refcount files come and go with every open; layers, links and records must not.
      if (e.name === '.refs' || e.name.endsWith('.lock')) return [];
      return e.isDirectory() ? [p, ...walk(join(d, e.name), p)] : [p];
    });
  return walk(home, '').sort();
}

async function expectRefused(image: string, exit: number, message: RegExp) {
  const home = join(ctx.work, 'store');
  const good = ovl(['unpack', embeddedImage, '--store', home, '--driver', 'vfs', '-q']);
  assert.is(good.code, 0, good.stderr);
  // Take the good top layer out, so the broken image has to unpack its (damaged) top layer again.
  const goodTop = good.stdout.trim();
  assert.is(ovl(['rm', goodTop, '--store', home, '--driver', 'vfs']).code, 0);
  const before = storeEntries(home);
  const r = ovl(['unpack', image, '--store', home, '--driver', 'vfs', '-q']);
  assert.is(r.code, exit, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, message);
  assert.equal(storeEntries(home), before, 'the store is as it was');
  const json = ovl(['unpack', image, '--store', home, '--driver', 'vfs', '--json']);
  assert.is(json.code, exit);
  assert.match(JSON.parse(json.stdout).error.code, /^ERR_OVL_/);
}

Bad('a layer whose bytes do not match its digest: exit 6, names the blob', async () => {
  let digest = '';
  const image = await damagedImage((blob) => {
    digest = blob.split('/').pop()!;
    const bytes = readFileSync(blob);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    writeFileSync(blob, bytes);
  });
  await expectRefused(image, 6, new RegExp(`${digest.slice(0, 12)}|digest|diff`, 'i'));
});

Bad('a missing layer blob: exit 6', async () => {
  const image = await damagedImage((blob) => unlinkSync(blob));
  await expectRefused(image, 6, /missing|not (in|found)|no such/i);
});

Bad('a truncated layer: exit 6', async () => {
  const image = await damagedImage((blob) => truncateSync(blob, 40));
  await expectRefused(image, 6, /truncat|digest|corrupt|unexpected end/i);
});

Bad('an unknown layer media type: exit 6, names the type', async () => {
  const dir = join(ctx.work, 'image');
  cpSync(embeddedImage, dir, { recursive: true });
  const image = await openImage(dir);
  // Rewrite the manifest with a made-up layer media type and point the index at the new manifest.
  const manifest = structuredClone(image.manifest) as { layers: Array<{ mediaType: string }> };
  manifest.layers.at(-1)!.mediaType = 'application/vnd.example.layer.v1.tar+lz4';
  const { createHash } = await import('node:crypto');
  const bytes = Buffer.from(JSON.stringify(manifest));
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${hex}`,
          size: bytes.length,
        },
      ],
    }),
  );
  await expectRefused(dir, 6, /vnd\.example\.layer\.v1\.tar\+lz4/);
});

Bad('a path that is no image: exit 6', () => {
  const r = ovl(['flatten', ctx.work, join(ctx.work, 'out')]);
  assert.is(r.code, 6, r.stderr);
});

Bad.run();
