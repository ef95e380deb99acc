import { createHash } from 'node:crypto';
import { ImageError } from './errors.js';

/** Algorithms OCI registers for content digests, with the length of their hex encoding. */
const ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

/**
 * Parses `sha256:<64 hex>` (or sha512). The hex part becomes a file name under `blobs/`, so anything else is
 * refused here: a digest like `sha256:../../etc/passwd` must never reach the file system.
 */
export function parseDigest(digest: unknown, where?: string): ParsedDigest {
  if (typeof digest === 'string') {
    const colon = digest.indexOf(':');
    const algorithm = digest.slice(0, colon);
    const hex = digest.slice(colon + 1);
    const len = ALGORITHMS[algorithm];
    if (colon > 0 && len !== undefined && hex.length === len && /^[0-9a-f]+$/.test(hex)) {
      return { algorithm: algorithm as ParsedDigest['algorithm'], hex };
    }
  }
  throw new ImageError(
    'ERR_OVL_BAD_IMAGE',
    `invalid digest ${JSON.stringify(digest)}${where ? ` in ${where}` : ''}: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>`,
    { path: where },
  );
}

/** Where a blob lives inside an OCI layout (and in newer `docker save` archives). */
export function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

export function digestOf(data: Uint8Array | string, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
