// `ovl mount` / `ovl umount` as library calls: the driver mounts the layer's merged view at its own
// path (or returns the base layer's dir), and we bind that at the caller's target, recording which
// layer is behind the target so that umount and commit can find it.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMountpoint, MNT_DETACH, MS_BIND, MS_RDONLY, MS_REMOUNT, mount, umount2 } from '@ovl/syscall';
import type { Driver } from './driver.js';
import { OvlError } from './errors.js';
import { LayerDb } from './layer-db.js';
import { MountRecords } from './mount-records.js';
import { withStoreLock } from './store-lock.js';

export interface MountOptions {
  readWrite?: boolean;
  /** the image the layer came from, kept for `ovl commit --oci` */
  image?: string;
  /** the platform picked from that image (`--platform`), so that commit builds on the same manifest */
  platform?: string;
  mountLabel?: string;
}

export interface MountResult {
  target: string;
  layer: string;
  readWrite: boolean;
}

export async function mountLayer(
  driver: Driver,
  layer: string,
  target: string,
  options: MountOptions = {},
): Promise<MountResult> {
  if (!(await driver.exists(layer))) {
    throw new OvlError(
      'ERR_OVL_LAYER_NOT_FOUND',
      `layer ${layer} is not in the store ${driver.home}: unpack the image first`,
    );
  }
  const records = new MountRecords(driver.home);
  const abs = resolve(target);
  const old = await records.get(abs);
  if (old && isMountpoint(abs))
    throw new OvlError('ERR_OVL_MOUNTED', `${abs} is already an ovl mount: ovl umount it first`);
  // a record whose mount is gone (unmounted by hand, or a reboot) is stale: forget it
  if (old) await forget(driver, records, old.target, old.layer);
  let id = layer;
  if (options.readWrite) {
    // A read-write mount gets its own upper layer on top of the image's, so the image stays untouched.
    id = `rw-${randomBytes(8).toString('hex')}`;
    const rw = id;
    // under the store lock, so that an unpack rolling back cannot remove the parent meanwhile
    await withStoreLock(driver.home, async () => {
      if (!(await driver.exists(layer)))
        throw new OvlError('ERR_OVL_LAYER_NOT_FOUND', `layer ${layer} was removed meanwhile`);
      await driver.createReadWrite(rw, layer);
      await new LayerDb(driver.home).put({
        id: rw,
        parent: layer,
        size: 0,
        created: new Date().toISOString(),
        readWrite: true,
      });
    });
  }
  // An image layer is mounted without an upper dir, so nothing can write into it, not even through
  // the driver's own merged dir; the bind at the target is made read-only as well.
  const source = await driver.get(id, { mountLabel: options.mountLabel, readOnly: !options.readWrite });
  try {
    await mkdir(abs, { recursive: true });
    mount(source, abs, '', MS_BIND);
    if (!options.readWrite) mount('', abs, '', MS_BIND | MS_REMOUNT | MS_RDONLY);
  } catch (err) {
    try {
      umount2(abs, MNT_DETACH);
    } catch {}
    await driver.put(id);
    throw err;
  }
  await records.put({
    target: abs,
    layer: id,
    parent: options.readWrite ? layer : undefined,
    readWrite: !!options.readWrite,
    image: options.image === undefined ? undefined : resolve(options.image),
    platform: options.platform,
    created: new Date().toISOString(),
  });
  return { target: abs, layer: id, readWrite: !!options.readWrite };
}

export async function unmountTarget(driver: Driver, target: string): Promise<MountResult> {
  const records = new MountRecords(driver.home);
  const rec = await records.get(target);
  if (!rec)
    throw new OvlError(
      'ERR_OVL_NOT_MOUNTED',
      `${resolve(target)} is not an ovl mount of the store ${driver.home}`,
    );
  // unmounted by hand (or gone with a reboot): there is nothing to unmount, only the record to drop
  if (isMountpoint(rec.target)) umount2(rec.target, MNT_DETACH);
  await forget(driver, records, rec.target, rec.layer);
  return { target: rec.target, layer: rec.layer, readWrite: rec.readWrite };
}

/** Releases the driver's reference behind a target and drops its record. */
async function forget(driver: Driver, records: MountRecords, target: string, layer: string): Promise<void> {
  if (await driver.exists(layer)) await driver.put(layer);
  await records.delete(target);
}
