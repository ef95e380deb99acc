import { StoreError } from './errors.js';

/**
 * Longest accepted layer ID. NAME_MAX is 255; we keep room for the suffixes the store adds to
 * names it moves out of sight (`.removing-<id>-<random>`, `.tmp-<id>-<random>`).
 */
export const MAX_LAYER_ID_LENGTH = 200;

/**
 * Throws `ERR_OVL_BAD_LAYER_ID` unless `id` can safely name a directory inside the store:
 * not empty, at most MAX_LAYER_ID_LENGTH bytes, no `/`, no NUL, not `.`/`..`, and not starting
 * with `.` (names starting with a dot are the store's own in-flight entries, hidden from listings).
 * The name `l` is also refused: it is the overlay layout's link directory.
 */
export function validateLayerId(id: string): void {
  const bad = (why: string): never => {
    throw new StoreError('ERR_OVL_BAD_LAYER_ID', `invalid layer ID ${JSON.stringify(id)}: ${why}`, {
      path: id,
    });
  };
  if (typeof id !== 'string' || id.length === 0) bad('it is empty');
  if (Buffer.byteLength(id) > MAX_LAYER_ID_LENGTH) bad(`it is longer than ${MAX_LAYER_ID_LENGTH} bytes`);
  if (id.includes('/')) bad('it contains "/"');
  if (id.includes('\0')) bad('it contains a NUL byte');
  if (id === '.' || id === '..') bad('it names a directory of its own');
  if (id.startsWith('.')) bad('IDs starting with "." are reserved for the store');
  if (id === 'l') bad('"l" is reserved for the link directory');
}

/** validateLayerId as a boolean. */
export function isValidLayerId(id: string): boolean {
  try {
    validateLayerId(id);
    return true;
  } catch {
    return false;
  }
}
