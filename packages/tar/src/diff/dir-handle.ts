// An open directory of a diff's walk, shared with the entries whose content is read from it later.
// Content is opened relative to it (openat: one component looked up, not the whole path — on the rootfs
// diff the kernel's path walk, __d_lookup_rcu, was ~4% of the samples). The walk cannot close it when it
// leaves the directory: the encoder runs a batch or two behind the walk, and the content reader reads
// on another thread. So it counts its holders and closes on the last release.
import { closeSync } from 'node:fs';

export class DirHandle {
  readonly fd: number;
  private holders = 1;

  /** Takes over `fd`, held by the caller (the walk) until it calls release(). */
  constructor(fd: number) {
    this.fd = fd;
  }

  retain(): this {
    this.holders++;
    return this;
  }

  release(): void {
    if (--this.holders === 0) closeSync(this.fd);
  }
}

/** Where a regular file's content is: a name inside an open directory of the walk. */
export interface SourceAt {
  dir: DirHandle;
  name: string;
}

/** Drops an entry's hold on its directory, once (the entry then reads by path, if at all). */
export function releaseSource(entry: { sourceAt?: SourceAt }): void {
  const at = entry.sourceAt;
  if (!at) return;
  entry.sourceAt = undefined;
  at.dir.release();
}
