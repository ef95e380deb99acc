// Image → store: each layer of an image becomes a driver layer named by its chain ID, so a layer that is
// already in the store (from this image or another that shares it) is reused, not unpacked again.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable, Transform } from 'node:stream';
import { type Image, type OpenImageOptions, openImage } from '@ovl/image';
import { apply } from '@ovl/tar';
import type { Driver } from './driver.js';
import { OvlError } from './errors.js';
import { LayerDb } from './layer-db.js';
import { explainLayerError } from './layer-error.js';
import { withStoreLock } from './store-lock.js';

export interface LayerProgress {
  /** 0-based index of the layer in the image, bottom first */
  index: number;
  layers: number;
  id: string;
  phase: 'start' | 'progress' | 'done' | 'reused';
  /** uncompressed bytes read from this layer so far */
  bytes: number;
}

export interface UnpackOptions extends OpenImageOptions {
  onProgress?: (p: LayerProgress) => void;
}

export interface UnpackResult {
  /** the top layer's ID (its chain ID without `sha256:`) */
  top: string;
  layers: Array<{ id: string; diffId: string; reused: boolean }>;
}

/**
 * The layer's stream with its bytes counted as they pass, for progress reports. `pipeline` (not
 * `.pipe`) so that a verification error of the source — a bad digest found at the end — reaches the
 * consumer instead of leaving it waiting for an end that never comes.
 */
function counted(source: Readable, onBytes: (total: number) => void): Readable {
  let total = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
  return pipeline(source, count, () => {});
}

/** Throttles progress events to a few per second; the first and last always pass. */
function throttle<T>(fn: (v: T) => void, ms = 100): (v: T) => void {
  let last = 0;
  return (v) => {
    const now = Date.now();
    if (now - last >= ms) {
      last = now;
      fn(v);
    }
  };
}

export const layerIdOf = (chainId: string) => chainId.replace(/^sha256:/, '');

/**
 * Unpacks the image's layers into the store, bottom first, each named by its chain ID. A layer is reused
 * only when the driver has it *and* its record says it was unpacked to the end; a layer a crash left
 * half-applied (driver layer, no record) is removed and unpacked again. When any layer fails (bad digest,
 * truncated, hostile), every layer this call created is removed again, so the store is as it was.
 */
export async function unpackImage(
  driver: Driver,
  imagePath: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const image = await openImage(imagePath, options);
  return withStoreLock(driver.home, () => unpackLocked(driver, image, imagePath, options));
}

async function unpackLocked(
  driver: Driver,
  image: Image,
  imagePath: string,
  options: UnpackOptions,
): Promise<UnpackResult> {
  const db = new LayerDb(driver.home);
  const report = options.onProgress ?? (() => {});
  const out: UnpackResult['layers'] = [];
  const created: string[] = [];
  let parent: string | undefined;
  try {
    for (const [index, layer] of image.layers.entries()) {
      const id = layerIdOf(layer.chainId);
      const base = { index, layers: image.layers.length, id };
      if (await driver.exists(id)) {
        if (await db.get(id)) {
          report({ ...base, phase: 'reused', bytes: 0 });
          out.push({ id, diffId: layer.diffId, reused: true });
          parent = id;
          continue;
        }
        // in the driver but never recorded as complete: what an interrupted unpack leaves
        await driver.remove(id);
      }
      report({ ...base, phase: 'start', bytes: 0 });
      const tick = throttle((bytes: number) => report({ ...base, phase: 'progress', bytes }));
      let bytes = 0;
      await driver.create(id, parent);
      created.push(id);
      const stream = counted(layer.open(), (n) => {
        bytes = n;
        tick(n);
      });
      const size = await driver.applyDiff(id, parent, stream).catch(async (err) => {
        throw await explainLayerError(layer, err);
      });
      await db.put({ id, parent, diffId: layer.diffId, size, created: new Date().toISOString() });
      report({ ...base, phase: 'done', bytes });
      out.push({ id, diffId: layer.diffId, reused: false });
      parent = id;
    }
  } catch (err) {
    await rollBack(driver, db, created);
    throw err;
  }
  if (!parent) throw new Error(`image ${imagePath} has no layers`);
  return { top: parent, layers: out };
}

/**
 * Removes the layers one unpack created, top first, unless a layer was built on meanwhile (a read-write
 * mount made before the store lock was taken, or a store written by an older ovl without the lock).
 */
async function rollBack(driver: Driver, db: LayerDb, created: string[]): Promise<void> {
  const ours = new Set(created);
  for (const id of [...created].reverse()) {
    const others = (await db.list().catch(() => [])).filter((l) => l.parent === id && !ours.has(l.id));
    if (others.length > 0) continue;
    await driver.remove(id).catch(() => {});
    await db.delete(id).catch(() => {});
  }
  await db.prune();
}

export interface FlattenResult {
  layers: number;
  bytes: number;
  entries: number;
}

/**
 * The image's root filesystem in a plain directory: every layer applied in 'flatten' format on top of
 * the one below, with no mount and no store — the same tree `umoci unpack` or `docker export` gives.
 * `dir` must not exist or be empty (ERR_OVL_TARGET_NOT_EMPTY otherwise, as `umoci unpack` refuses an
 * existing bundle); when a layer fails, what was written is removed again, so `dir` is as it was.
 */
export async function flattenImage(
  imagePath: string,
  dir: string,
  options: UnpackOptions = {},
): Promise<FlattenResult> {
  const image = await openImage(imagePath, options);
  const existed = await emptyOrMissing(dir);
  await mkdir(dir, { recursive: true });
  try {
    return await flattenInto(image, dir, options);
  } catch (err) {
    if (existed) await emptyDir(dir).catch(() => {});
    else await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/** Whether `dir` exists (then it must be an empty directory). */
async function emptyOrMissing(dir: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (names.length > 0) {
    throw new OvlError(
      'ERR_OVL_TARGET_NOT_EMPTY',
      `${dir} is not empty; flatten into a new or empty directory (a root filesystem is never merged into existing files)`,
    );
  }
  return true;
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

async function flattenInto(image: Image, dir: string, options: UnpackOptions): Promise<FlattenResult> {
  const report = options.onProgress ?? (() => {});
  let bytes = 0;
  let entries = 0;
  for (const [index, layer] of image.layers.entries()) {
    const base = { index, layers: image.layers.length, id: layerIdOf(layer.chainId) };
    report({ ...base, phase: 'start', bytes: 0 });
    const tick = throttle((n: number) => report({ ...base, phase: 'progress', bytes: n }));
    let read = 0;
    const result = await apply(
      counted(layer.open(), (n) => {
        read = n;
        tick(n);
      }),
      dir,
      { format: 'flatten' },
    ).catch(async (err) => {
      throw await explainLayerError(layer, err);
    });
    bytes += result.bytes;
    entries += result.entries;
    report({ ...base, phase: 'done', bytes: read });
  }
  return { layers: image.layers.length, bytes, entries };
}
