// What the meta package knows about each layer beyond the driver's own files: its parent (for `ls
// --tree` and for refusing to remove a layer others build on), where it came from, and its size.
// One JSON file per layer under `<home>/.ovl/layers/` (a dot name, which no driver takes for a layer), each written atomically.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { atomicWriteFile, validateLayerId } from '@ovl/store';

export interface LayerRecord {
  id: string;
  parent?: string;
  /** sha256:… of the uncompressed layer tar, when it came from an image */
  diffId?: string;
  /** size of the uncompressed layer tar, as the driver's applyDiff reports it */
  size: number;
  created: string;
  /** a read-write layer made by `ovl mount --rw` */
  readWrite?: boolean;
}

export class LayerDb {
  private readonly dir: string;
  constructor(home: string) {
    this.dir = join(home, '.ovl', 'layers');
  }

  private file(id: string): string {
    validateLayerId(id);
    return join(this.dir, `${id}.json`);
  }

  async put(record: LayerRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await atomicWriteFile(this.file(record.id), `${JSON.stringify(record, null, 2)}\n`);
  }

  async get(id: string): Promise<LayerRecord | undefined> {
    const f = this.file(id);
    if (!existsSync(f)) return undefined;
    return JSON.parse(await readFile(f, 'utf8')) as LayerRecord;
  }

  async delete(id: string): Promise<void> {
    await rm(this.file(id), { force: true });
  }

  /** Removes the records dir (and `.ovl`) when nothing is left in them: a rolled-back first unpack. */
  async prune(): Promise<void> {
    for (const d of [this.dir, dirname(this.dir)]) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): leave it
      }
    }
  }

  async list(): Promise<LayerRecord[]> {
    if (!existsSync(this.dir)) return [];
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    const records = await Promise.all(
      names.map((n) => readFile(join(this.dir, n), 'utf8').then((t) => JSON.parse(t))),
    );
    return (records as LayerRecord[]).sort(
      (a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id),
    );
  }

  /** The chain from `id` down to its base layer, `id` first. */
  async chain(id: string): Promise<LayerRecord[]> {
    const out: LayerRecord[] = [];
    let cur: string | undefined = id;
    while (cur) {
      const rec = await this.get(cur);
      if (!rec) break;
      out.push(rec);
      cur = rec.parent;
    }
    return out;
  }
}
