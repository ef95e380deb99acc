import type { Readable } from 'node:stream';
import type { Change } from '@ovl/tar';

export type { Change };

/** Options of create / createReadWrite. */
export interface CreateOptions {
  /** per-layer driver options, e.g. `{ size: '10G' }` (overlay: `size` needs xfs with project quotas) */
  storageOpt?: Record<string, string>;
  /** SELinux label for the layer's mounts */
  mountLabel?: string;
}

/** Options of get. */
export interface GetOptions {
  /** SELinux context for the mount (`context="..."`) */
  mountLabel?: string;
  /** mount without an upper dir: the layer's diff becomes the top lower */
  readOnly?: boolean;
  /** extra mount options for this mount (e.g. `['nodev']`) */
  options?: string[];
}

/**
 * A graph driver, in the shape of Docker's / containers/storage's graphdriver.ProtoDriver plus
 * the DiffDriver methods. `@ovl/overlay` and `@ovl/aufs` implement it.
 */
export interface Driver {
  readonly name: string;
  create(id: string, parent?: string, opts?: CreateOptions): Promise<void>;
  createReadWrite(id: string, parent?: string, opts?: CreateOptions): Promise<void>;
  remove(id: string): Promise<void>;
  /** mounts the layer (reference counted) and returns the path of its merged tree */
  get(id: string, opts?: GetOptions): Promise<string>;
  put(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
  status(): Promise<Array<[string, string]>>;
  metadata(id: string): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
  diff(id: string, parent?: string): Readable;
  applyDiff(
    id: string,
    parent: string | undefined,
    layer: Readable | AsyncIterable<Uint8Array>,
  ): Promise<number>;
  diffSize(id: string, parent?: string): Promise<number>;
  changes(id: string, parent?: string): Promise<Change[]>;
}
