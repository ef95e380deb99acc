import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { parseDigest } from './digest.js';
import { ImageError, type ImageErrorCode } from './errors.js';

export interface VerifyOptions {
  /** The digest the bytes must hash to. */
  digest: string;
  /** The byte count the descriptor promises; more bytes fail at once, fewer at the end. */
  size?: number;
  /** Error code on mismatch: ERR_OVL_BAD_DIGEST for blobs, ERR_OVL_BAD_DIFFID for uncompressed layers. */
  code?: Extract<ImageErrorCode, 'ERR_OVL_BAD_DIGEST' | 'ERR_OVL_BAD_DIFFID'>;
  /** What the bytes are, for the message ("layer 2 blob sha256:…"). */
  what: string;
}

/**
 * A pass-through that hashes what flows through it and, at the end, fails instead of ending when the hash or
 * length is wrong. Bytes pass downstream before the verdict (a layer is too big to hold back), so consumers must
 * write into a staging place and keep it only when the stream ends without error.
 */
export function verifyStream(opts: VerifyOptions): Transform {
  const { algorithm, hex } = parseDigest(opts.digest, opts.what);
  const code = opts.code ?? 'ERR_OVL_BAD_DIGEST';
  const hash = createHash(algorithm);
  let bytes = 0;
  const fail = (detail: string) =>
    new ImageError(code, `${opts.what}: ${detail}; the image is corrupt or was altered — fetch it again`, {
      digest: opts.digest,
    });
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      bytes += chunk.length;
      if (opts.size !== undefined && bytes > opts.size) {
        cb(fail(`more than the ${opts.size} bytes its descriptor declares`));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (opts.size !== undefined && bytes !== opts.size) {
        cb(fail(`${bytes} bytes, but its descriptor declares ${opts.size}`));
        return;
      }
      const actual = hash.digest('hex');
      if (actual !== hex) {
        const label = code === 'ERR_OVL_BAD_DIFFID' ? 'uncompressed content hashes' : 'content hashes';
        cb(fail(`${label} to ${algorithm}:${actual}, expected ${opts.digest}`));
        return;
      }
      cb();
    },
  });
}
