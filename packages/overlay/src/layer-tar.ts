import type { Readable } from 'node:stream';

/** A Readable that runs `cleanup` once when it ends, fails or is destroyed (e.g. to put a mount). */
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
