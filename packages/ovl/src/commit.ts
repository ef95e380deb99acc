// `ovl commit`: the changes of a read-write mount become a new layer in the store — named by its chain
// ID like every unpacked layer — and, when asked, an OCI image layout that other tools read.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Driver } from './driver.js';
import { OvlError } from './errors.js';
import { LayerDb } from './layer-db.js';
import { MountRecords } from './mount-records.js';
import { type NewLayer, writeOciLayout } from './oci-writer.js';

export interface CommitOptions {
  /** also write an OCI image layout here: the mount's image plus the new layer */
  oci?: string;
  ref?: string;
}

export interface CommitResult {
  layer: string;
  parent?: string;
  diffId: string;
  /** bytes of the uncompressed layer tar */
  tarBytes: number;
  oci?: { dir: string; manifestDigest: string };
}

function hashing(hash: ReturnType<typeof createHash>, count: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk);
      count.n += chunk.length;
      done(null, chunk);
    },
  });
}

/** The chain ID of a layer with `diffId` on top of the chain `parent` (both sha256:… or bare hex). */
export function chainIdOf(parent: string | undefined, diffId: string): string {
  const withAlgo = (d: string) => (d.startsWith('sha256:') ? d : `sha256:${d}`);
  if (!parent) return withAlgo(diffId);
  return `sha256:${createHash('sha256')
    .update(`${withAlgo(parent)} ${withAlgo(diffId)}`)
    .digest('hex')}`;
}

/** gzips a layer tar next to it for an OCI layout, hashing the compressed bytes on the way. */
async function gzipLayer(tarPath: string, diffId: string, tmp: string): Promise<NewLayer> {
  const gzPath = join(tmp, `${diffId.slice(7, 19)}-${Math.random().toString(36).slice(2)}.tar.gz`);
  const gzHash = createHash('sha256');
  const gzCount = { n: 0 };
  // 1 MiB reads and output chunks, not 64 KiB / 16 KiB: every chunk is a round trip through the libuv
  // pool. The 211 MB rootfs layer gzip'ed in 6.8–6.9 s this way against 8.6–10.6 s (tmpfs, 2 rounds).
  await pipeline(
    createReadStream(tarPath, { highWaterMark: 1 << 20 }),
    createGzip({ level: 6, chunkSize: 1 << 20 }),
    hashing(gzHash, gzCount),
    createWriteStream(gzPath),
  );
  return { path: gzPath, digest: `sha256:${gzHash.digest('hex')}`, size: gzCount.n, diffId };
}

/** A store layer's diff against its parent as a gzipped OCI layer blob. */
async function exportLayer(
  driver: Driver,
  id: string,
  parent: string | undefined,
  tmp: string,
): Promise<NewLayer> {
  const tarPath = join(tmp, `${id}.tar`);
  const hash = createHash('sha256');
  await pipeline(driver.diff(id, parent), hashing(hash, { n: 0 }), createWriteStream(tarPath));
  return gzipLayer(tarPath, `sha256:${hash.digest('hex')}`, tmp);
}

export async function commitMount(
  driver: Driver,
  target: string,
  options: CommitOptions = {},
): Promise<CommitResult> {
  const rec = await new MountRecords(driver.home).get(target);
  if (!rec)
    throw new OvlError('ERR_OVL_NOT_MOUNTED', `${target} is not an ovl mount of the store ${driver.home}`);
  if (!rec.readWrite)
    throw new OvlError(
      'ERR_OVL_READ_ONLY',
      `${target} is a read-only mount: nothing to commit (mount with --rw)`,
    );
  const tmp = await mkdtemp(join(tmpdir(), 'ovl-commit-'));
  try {
    // The plain tar goes to the store; its gzip (a second pass over the file) to the OCI layout.
    const tarPath = join(tmp, 'layer.tar');
    const tarHash = createHash('sha256');
    const tarCount = { n: 0 };
    await pipeline(
      driver.diff(rec.layer, rec.parent),
      hashing(tarHash, tarCount),
      createWriteStream(tarPath),
    );
    const diffId = `sha256:${tarHash.digest('hex')}`;
    const id = chainIdOf(rec.parent, diffId).replace(/^sha256:/, '');
    if (!(await driver.exists(id))) {
      await driver.create(id, rec.parent);
      try {
        const size = await driver.applyDiff(id, rec.parent, createReadStream(tarPath));
        await new LayerDb(driver.home).put({
          id,
          parent: rec.parent,
          diffId,
          size,
          created: new Date().toISOString(),
        });
      } catch (err) {
        await driver.remove(id).catch(() => {});
        throw err;
      }
    }
    const result: CommitResult = { layer: id, parent: rec.parent, diffId, tarBytes: tarCount.n };
    if (options.oci) {
      // A mount made from an image builds on that image's blobs as they are. One made from a layer ID has
      // no image behind it: the layers below come from the store, each exported as its diff.
      const below: NewLayer[] = [];
      if (!rec.image && rec.parent) {
        const chain = (await new LayerDb(driver.home).chain(rec.parent)).reverse();
        for (const l of chain) below.push(await exportLayer(driver, l.id, l.parent, tmp));
      }
      const top = await gzipLayer(tarPath, diffId, tmp);
      const { manifestDigest } = await writeOciLayout(options.oci, {
        base: rec.image,
        platform: rec.platform,
        layers: [...below, top],
        ref: options.ref,
      });
      result.oci = { dir: options.oci, manifestDigest };
    }
    return result;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
