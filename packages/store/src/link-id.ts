import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Length of a short link ID, as containers/storage uses: 26 characters of [A-Z0-9]. */
export const LINK_ID_LENGTH = 26;

/**
 * A random short ID for `<home>/l/<ID>`. 36^26 ≈ 2^134 values, so collisions are not a concern,
 * but the store still creates the link with O_EXCL semantics and retries on EEXIST.
 */
export function generateLinkId(): string {
  let id = '';
  for (let i = 0; i < LINK_ID_LENGTH; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

/** True for a well-formed link ID (what repair accepts from a layer's `link` file). */
export function isLinkId(s: string): boolean {
  return s.length === LINK_ID_LENGTH && /^[A-Z0-9]+$/.test(s);
}
