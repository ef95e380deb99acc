import { closeSync, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { assertSourceDir } from '../changes/fs-entry.js';
import type { LayerFormat } from '../changes/lower-view.js';
import type { LayerEntry } from './layer-entry.js';
import { type LayerWriterProgress, layerStream, layerToFd, type Produce } from './layer-writer.js';
import { naiveEntries } from './naive-entries.js';
import { upperEntries } from './upper-entries.js';

/** A layer's upper dir, read as it is (the native diff). */
export interface UpperDiffSource {
  upper: string;
  /** How whiteouts are written in `upper` (default 'overlay'). */
  format?: LayerFormat;
  /** Lower layers, top first: when given, opaque markers are written only where something lies below. */
  lowers?: readonly string[];
  /** overlay xattrs live in `user.overlay.*` (the `userxattr` mount option). */
  userxattr?: boolean;
}

/** A complete new tree (e.g. a merged mount) compared against its lowers (the naive diff). */
export interface TreeDiffSource {
  /** Lower layers, top first (or one merged parent tree). */
  lowers: readonly string[];
  tree: string;
  /** How whiteouts are written inside the lowers (default 'overlay'). */
  lowerFormat?: LayerFormat;
  userxattr?: boolean;
}

export type DiffSource = UpperDiffSource | TreeDiffSource;

export interface DiffOptions {
  signal?: AbortSignal;
  /** Called after each entry with the bytes of tar produced so far and the entries written. */
  onProgress?: (progress: LayerWriterProgress) => void;
}

/**
 * The layer tarball (uncompressed) for `source`, streamed: deterministic — entries parents first in
 * bytewise order, PAX records where ustar falls short, no user/group names, hardlinks as links — so the
 * same tree always gives the same bytes. Errors (a missing directory, an upper dir using redirect_dir
 * or metacopy) end the stream with a TarError / UnsupportedUpperError.
 * The tree walk uses synchronous file-system calls between entries (see changes/fs-entry.ts).
 */
export function diff(source: DiffSource, options: DiffOptions = {}): Readable {
  return layerStream(producer(source), options);
}

/**
 * `diff` written straight to a file (a path, created or truncated, mode 0644 before the umask) or an
 * open descriptor (written at its position, left open; a pipe works). Resolves with the tar's size and
 * the entry count once everything is written. Faster than piping `diff()` into a WriteStream: the
 * output buffers are reused once written, and no stream sits in between.
 */
export async function diffToFile(
  source: DiffSource,
  file: string | number,
  options: DiffOptions = {},
): Promise<LayerWriterProgress> {
  const fd = typeof file === 'number' ? file : openSync(file, 'w', 0o644);
  try {
    return await layerToFd(producer(source), fd, options);
  } finally {
    if (typeof file !== 'number') closeSync(fd);
  }
}

function producer(source: DiffSource): Produce {
  return async (write) => {
    let entries: Iterable<LayerEntry>;
    if ('tree' in source) {
      assertSourceDir(source.tree, 'new tree');
      for (const lower of source.lowers) assertSourceDir(lower, 'lower');
      entries = naiveEntries(source.lowers, source.tree, {
        lowerFormat: source.lowerFormat,
        userxattr: source.userxattr,
      });
    } else {
      assertSourceDir(source.upper, 'upper');
      for (const lower of source.lowers ?? []) assertSourceDir(lower, 'lower');
      entries = upperEntries(source.upper, {
        format: source.format ?? 'overlay',
        lowers: source.lowers,
        userxattr: source.userxattr,
      });
    }
    for (const entry of entries) {
      const wait = write(entry);
      if (wait) await wait;
    }
  };
}
