// The vfs driver: no mounts and no root. Every layer is a full copy of its parent with its own changes
// applied in 'flatten' format, as Docker's vfs graphdriver keeps them. Slow and big, but it works on
// every kernel and file system, which is what `open(home, { driver: 'auto' })` falls back to.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { hiddenName, ownerIsAlive, REMOVING_PREFIX, STAGING_PREFIX, validateLayerId } from '@ovl/store';
import { apply, changes, changesSize, diff } from '@ovl/tar';
import type { Change, Driver, DriverOptions, GetOptions } from '../driver.js';
import { OvlError } from '../errors.js';

/** `cp -a` keeps owners, modes, xattrs, hardlinks and times; reflinks make it cheap where the fs can. */
async function copyTree(from: string, to: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('cp', ['-a', '--reflink=auto', '--', `${from}/.`, to], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new OvlError('ERR_OVL_COPY_FAILED', `cp -a ${from} ${to} failed: ${err.trim()}`)),
    );
  });
}

export class VfsDriver implements Driver {
  readonly name = 'vfs';
  readonly home: string;
  private readonly dirs: string;

  constructor(home: string) {
    this.home = home;
    this.dirs = join(home, 'dir');
  }

  static async init(home: string, _options: DriverOptions = {}): Promise<VfsDriver> {
    const driver = new VfsDriver(home);
    await mkdir(driver.dirs, { recursive: true, mode: 0o700 });
    // A crash between staging and rename leaves hidden staging dirs, a crash mid-remove a removing one.
    // Staging dirs of a process that still runs are its work in progress (another `ovl` on this
    // store), not leftovers: those stay. Dot names never look like layers (layer IDs cannot start so).
    for (const name of await readdir(driver.dirs)) {
      const leftover =
        name.startsWith(REMOVING_PREFIX) ||
        (name.startsWith(STAGING_PREFIX) && !ownerIsAlive(name)) ||
        /\.(staging|removing)-\d+$/.test(name); // names of ovl before 0.2, which had no owner
      if (leftover) await rm(join(driver.dirs, name), { recursive: true, force: true });
    }
    return driver;
  }

  private dir(id: string): string {
    validateLayerId(id);
    return join(this.dirs, id);
  }

  private async mustExist(id: string): Promise<string> {
    const d = this.dir(id);
    if (!existsSync(d))
      throw new OvlError('ERR_OVL_LAYER_NOT_FOUND', `layer ${id} does not exist in ${this.home}`);
    return d;
  }

  async create(id: string, parent?: string): Promise<void> {
    const d = this.dir(id);
    if (existsSync(d))
      throw new OvlError('ERR_OVL_LAYER_EXISTS', `layer ${id} already exists in ${this.home}`);
    const staging = join(this.dirs, hiddenName(STAGING_PREFIX, id));
    await mkdir(staging, { mode: 0o755 });
    try {
      if (parent) await copyTree(await this.mustExist(parent), staging);
      await rename(staging, d);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  createReadWrite(id: string, parent?: string): Promise<void> {
    return this.create(id, parent);
  }

  async remove(id: string): Promise<void> {
    const d = this.dir(id);
    if (!existsSync(d)) return;
    const gone = join(this.dirs, hiddenName(REMOVING_PREFIX, id));
    await rename(d, gone);
    await rm(gone, { recursive: true, force: true });
  }

  async get(id: string, _opts?: GetOptions): Promise<string> {
    return this.mustExist(id);
  }

  async put(id: string): Promise<void> {
    await this.mustExist(id);
  }

  async exists(id: string): Promise<boolean> {
    return existsSync(this.dir(id));
  }

  async status(): Promise<Array<[string, string]>> {
    const layers = (await readdir(this.dirs)).filter((n) => !n.startsWith('.'));
    return [
      ['Driver', 'vfs'],
      ['Root Dir', this.home],
      ['Layers', String(layers.length)],
    ];
  }

  async metadata(id: string): Promise<Record<string, string>> {
    return { Dir: await this.mustExist(id) };
  }

  async cleanup(): Promise<void> {}

  diff(id: string, parent?: string): Readable {
    const tree = this.dir(id);
    return diff({ tree, lowers: parent ? [this.dir(parent)] : [] });
  }

  /**
   * Applies into a copy and swaps it in, so a failed apply leaves the layer exactly as it was.
   * Returns the size of the uncompressed layer tar, as containers/storage reports a layer's size.
   */
  async applyDiff(id: string, _parent: string | undefined, layer: Readable): Promise<number> {
    const d = await this.mustExist(id);
    const staging = join(this.dirs, hiddenName(STAGING_PREFIX, id));
    await mkdir(staging);
    try {
      await copyTree(d, staging);
      const result = await apply(layer, staging, { format: 'flatten' });
      const old = join(this.dirs, hiddenName(REMOVING_PREFIX, id));
      await rename(d, old);
      await rename(staging, d);
      await rm(old, { recursive: true, force: true });
      return result.bytes;
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  async diffSize(id: string, parent?: string): Promise<number> {
    const lowers = parent ? [await this.mustExist(parent)] : [];
    const upper = await this.mustExist(id);
    return changesSize(lowers, upper, await changes(lowers, upper, { format: 'naive' }));
  }

  async changes(id: string, parent?: string): Promise<Change[]> {
    const lowers = parent ? [await this.mustExist(parent)] : [];
    return changes(lowers, await this.mustExist(id), { format: 'naive' });
  }
}

/** Size of a directory's regular file content, for `ovl ls`. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath ?? e.path, e.name))).size;
  }
  return total;
}
