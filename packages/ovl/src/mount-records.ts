// Which layer is mounted where by `ovl mount`, so that `ovl umount TARGET` and `ovl commit TARGET`
// know the layer behind a path. One JSON file per target under `<home>/.ovl/mounts/`.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { atomicWriteFile } from '@ovl/store';

export interface MountRecord {
  target: string;
  /** the layer whose merged view is bound at target (the read-write layer with --rw) */
  layer: string;
  /** the image's top layer the mount was made from */
  parent?: string;
  readWrite: boolean;
  /** the image the mount was made from, when it was one, for `ovl commit --oci` */
  image?: string;
  /** the platform picked from `image` */
  platform?: string;
  created: string;
}

export class MountRecords {
  private readonly dir: string;
  constructor(home: string) {
    this.dir = join(home, '.ovl', 'mounts');
  }

  private file(target: string): string {
    return join(this.dir, `${createHash('sha256').update(resolve(target)).digest('hex').slice(0, 32)}.json`);
  }

  async put(record: MountRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await atomicWriteFile(
      this.file(record.target),
      `${JSON.stringify({ ...record, target: resolve(record.target) })}\n`,
    );
  }

  async get(target: string): Promise<MountRecord | undefined> {
    const f = this.file(target);
    return existsSync(f) ? (JSON.parse(await readFile(f, 'utf8')) as MountRecord) : undefined;
  }

  async delete(target: string): Promise<void> {
    await rm(this.file(target), { force: true });
  }

  async list(): Promise<MountRecord[]> {
    if (!existsSync(this.dir)) return [];
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    return Promise.all(
      names.map(async (n) => JSON.parse(await readFile(join(this.dir, n), 'utf8')) as MountRecord),
    );
  }
}
