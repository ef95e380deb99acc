// Broken images get the documented exit code and an error that names the problem, and leave the store
// exactly as it was: no half-unpacked layer, no stray record.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { openImage } from '@ovl/image';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedImage, isRoot, ovl, removeDir, tempDir } from './helpers/cli.js';
import { assertEmbeddedRootfs } from './helpers/expected-tree.js';

const overlayHere = isRoot && readFileSync('/proc/filesystems', 'utf8').includes('\toverlay');
/** vfs everywhere; the overlay driver too where this process can mount it */
const drivers = overlayHere ? ['vfs', 'overlay'] : ['vfs'];
if (!overlayHere) console.log('bad images: overlay driver cases skipped: not root or no overlayfs');

const Bad = suite('ovl unpack of broken images');
const ctx = { work: '' };
Bad.before.each(() => {
  ctx.work = tempDir('bad');
});
Bad.after.each(() => removeDir(ctx.work));

/** A copy of the embedded image with one layer blob damaged by `damage`. */
async function damagedImage(
  damage: (blobPath: string, index: Record<string, unknown>) => void,
  layer = -1,
): Promise<string> {
  const dir = join(ctx.work, 'image');
  cpSync(embeddedImage, dir, { recursive: true });
  const image = await openImage(dir);
  const top = image.layers.at(layer)!;
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

/** Writes `manifest` as a blob of the image at `dir` and points its index.json at it alone. */
async function useManifest(dir: string, manifest: unknown): Promise<void> {
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
}

Bad('an unknown layer media type: exit 6, names the type', async () => {
  const dir = join(ctx.work, 'image');
  cpSync(embeddedImage, dir, { recursive: true });
  const image = await openImage(dir);
  // Rewrite the manifest with a made-up layer media type and point the index at the new manifest.
  const manifest = structuredClone(image.manifest) as { layers: Array<{ mediaType: string }> };
  manifest.layers.at(-1)!.mediaType = 'application/vnd.example.layer.v1.tar+lz4';
  await useManifest(dir, manifest);
  await expectRefused(dir, 6, /vnd\.example\.layer\.v1\.tar\+lz4/);
});

Bad(
  'an uncompressed layer damaged after its last entry: the digest is named (exit 6), not the tar',
  async () => {
    const dir = join(ctx.work, 'image');
    cpSync(embeddedImage, dir, { recursive: true });
    const image = await openImage(dir);
    const { createHash } = await import('node:crypto');
    const { gunzipSync } = await import('node:zlib');
    // The top layer, stored uncompressed under its DiffID, then its end-of-archive blocks overwritten:
    // the tar parser meets garbage where the digest check has not yet seen the whole blob.
    const manifest = structuredClone(image.manifest) as {
      layers: Array<{ mediaType: string; digest: string; size: number }>;
    };
    const top = manifest.layers.at(-1)!;
    const plain = gunzipSync(readFileSync(join(dir, 'blobs', 'sha256', top.digest.replace('sha256:', ''))));
    const hex = createHash('sha256').update(plain).digest('hex');
    Object.assign(top, {
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: `sha256:${hex}`,
      size: plain.length,
    });
    plain.fill(0x41, plain.length - 1024);
    writeFileSync(join(dir, 'blobs', 'sha256', hex), plain);
    await useManifest(dir, manifest);
    await expectRefused(dir, 6, new RegExp(`${hex.slice(0, 12)}|digest`, 'i'));
    const r = ovl(['flatten', dir, join(ctx.work, 'rootfs')]);
    assert.is(r.code, 6, r.stderr);
    assert.match(r.stderr, hex.slice(0, 12), r.stderr);
  },
);

Bad('a path that is no image: exit 6', () => {
  const r = ovl(['flatten', ctx.work, join(ctx.work, 'out')]);
  assert.is(r.code, 6, r.stderr);
});

Bad(
  'a broken middle layer in a fresh store: the base layer unpacked before it is removed again',
  async () => {
    const image = await damagedImage((blob) => truncateSync(blob, 40), 1);
    for (const driver of drivers) {
      const home = join(ctx.work, `fresh-${driver}`);
      // `ls` opens the store: the driver's skeleton (its dirs, the l/ dir) is what an empty store is
      assert.is(ovl(['ls', '--store', home, '--driver', driver]).code, 0);
      const before = storeEntries(home);
      const r = ovl(['unpack', image, '--store', home, '--driver', driver]);
      assert.is(r.code, 6, `${driver}: exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, /layer 1\/3 [0-9a-f]{12}: done/, `${driver}: the base layer was unpacked first`);
      assert.equal(storeEntries(home), before, `${driver}: the store is as it was`);
      assert.equal(JSON.parse(ovl(['ls', '--json', '--store', home, '--driver', driver]).stdout), []);
    }
  },
);

Bad('flatten of a broken image leaves no directory behind, and an empty one empty', async () => {
  const image = await damagedImage((blob) => truncateSync(blob, 40));
  const fresh = join(ctx.work, 'rootfs-new');
  const r = ovl(['flatten', image, fresh]);
  assert.is(r.code, 6, r.stderr);
  assert.not.ok(existsSync(fresh), 'no half-flattened tree');
  const empty = join(ctx.work, 'rootfs-empty');
  mkdirSync(empty);
  assert.is(ovl(['flatten', image, empty]).code, 6);
  assert.equal(readdirSync(empty), []);
});

Bad('flatten refuses a directory that is not empty and leaves it alone', () => {
  const dir = join(ctx.work, 'busy');
  mkdirSync(dir);
  writeFileSync(join(dir, 'keep'), 'mine\n');
  const r = ovl(['flatten', embeddedImage, dir]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /is not empty/);
  assert.equal(readdirSync(dir), ['keep']);
  assert.is(readFileSync(join(dir, 'keep'), 'utf8'), 'mine\n');
});

Bad.run();

const Crash = suite('a layer an interrupted unpack left behind');
Crash.before.each(() => {
  ctx.work = tempDir('crash');
});
Crash.after.each(() => removeDir(ctx.work));

Crash('is unpacked again, not reused: a driver layer without its record is not complete', async () => {
  const home = join(ctx.work, 'store');
  const first = ovl(['unpack', embeddedImage, '--store', home, '--driver', 'vfs', '-q']);
  assert.is(first.code, 0, first.stderr);
  const top = first.stdout.trim();
  // what a kill between create and the end of applyDiff leaves: the layer dir, emptied, no record
  const dir = join(home, 'dir', top);
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  unlinkSync(join(home, '.ovl', 'layers', `${top}.json`));
  const again = ovl(['unpack', embeddedImage, '--store', home, '--driver', 'vfs']);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.stderr.match(/reused/g)?.length, 2, again.stderr);
  assert.match(again.stderr, new RegExp(`layer 3/3 ${top.slice(0, 12)}: unpacking`));
  assertEmbeddedRootfs(dir, { owners: isRoot });
});

Crash.run();
