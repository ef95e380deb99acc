import type { Readable } from 'node:stream';
import type { Change } from '@ovl/tar';

/** Options of `create` / `createReadWrite` (kept for the shared Driver shape; aufs uses none of them). */
export interface CreateOptions {
  mountLabel?: string;
  storageOpt?: Record<string, string>;
}

export interface GetOptions {
  /** SELinux label, passed as `context="..."` on every mount call */
  mountLabel?: string;
  /** mount the stack read-only (MS_RDONLY on the mount and on every append remount) */
  readOnly?: boolean;
  /** extra mount options: refused by this driver (ERR_OVL_BAD_OPTION) rather than silently dropped */
  options?: string[];
}

/**
 * The graph-driver shape shared by @ovl/overlay and @ovl/aufs (see DESIGN.md). Declared here structurally so
 * that this package does not depend on the overlay driver.
 */
export interface Driver {
  readonly name: string;
  create(id: string, parent?: string, opts?: CreateOptions): Promise<void>;
  createReadWrite(id: string, parent?: string, opts?: CreateOptions): Promise<void>;
  remove(id: string): Promise<void>;
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
