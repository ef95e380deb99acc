import { Readable } from 'node:stream';
import * as tar from '@ovl/tar';
import { OverlayError } from './errors.js';

/** The agreed @ovl/tar diff source: an upper dir, or a whole new tree against its lowers. */
export type DiffSource =
  | { upper: string; format: 'overlay' | 'aufs'; lowers?: string[]; userxattr?: boolean }
  | { lowers: string[]; tree: string };

type DiffFn = (source: DiffSource, options?: Record<string, unknown>) => Readable;

/**
 * @ovl/tar's `diff`, looked up at run time: it is written in parallel with this package, and until it
 * is exported the driver's diff reports ERR_OVL_NOT_SUPPORTED instead of failing to build.
 */
export function tarDiff(source: DiffSource): Readable {
  const fn = (tar as unknown as { diff?: DiffFn }).diff;
  if (typeof fn !== 'function') {
    throw new OverlayError(
      'ERR_OVL_NOT_SUPPORTED',
      'this build of @ovl/tar has no diff(); update @ovl/tar to produce layer tars',
    );
  }
  return fn(source);
}

/** True when @ovl/tar can produce diffs. */
export function hasTarDiff(): boolean {
  return typeof (tar as unknown as { diff?: DiffFn }).diff === 'function';
}

/** A Readable that runs `cleanup` once when it ends, fails or is destroyed. */
export function withCleanup(stream: Readable, cleanup: () => Promise<void>): Readable {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    cleanup().catch(() => {});
  };
  stream.once('end', once);
  stream.once('error', once);
  stream.once('close', once);
  return stream;
}

export { Readable };
