import { LINK_ID_LENGTH } from './link-id.js';

/**
 * Deepest stack overlayfs accepts: the kernel refuses a 501st lower layer (OVL_MAX_STACK = 500,
 * fs/overlayfs/params.c), and containers/storage uses the same limit today.
 */
export const DEFAULT_MAX_DEPTH = 500;
/** Docker's historic limit, chosen so that link-relative mount data fits one 4 KiB page. */
export const DOCKER_MAX_DEPTH = 128;

/** Bytes one `l/<ID>:` entry costs in `lowerdir=` when mounting relative to the store. */
export const LINK_ENTRY_BYTES = 'l/'.length + LINK_ID_LENGTH + ':'.length; // 29

/**
 * The page arithmetic behind the two limits.
 *
 * mount(2) copies its data into one page and silently cuts it at pageSize − 1 bytes (the last
 * byte is the NUL), so the whole option string must stay below a page.
 *
 * Link-relative (cwd = the store): `lowerdir=` (9) + 29 bytes per layer − 1 for the last `:`,
 * plus `,upperdir=<id>/diff,workdir=<id>/work` (2 × (9 + id + 5) + 1 = 157 with a 64-hex ID), plus
 * a SELinux `context="..."` label (~60) and feature options (`,userxattr,metacopy=on,...` ~ 60).
 * With 4096-byte pages: 9 + 128 × 29 − 1 = 3720, + 157 + 60 + 60 = 3997 < 4095 — 128 layers fit;
 * 500 layers need 9 + 500 × 29 − 1 = 14508 bytes and do not.
 *
 * That is why 500 needs either the new mount API (`fsconfig` `lowerdir+`, one ≤ 255-byte value per
 * layer, Linux 6.8+) or fd-relative data: every layer opened O_PATH in a child and named by its
 * descriptor number from `/proc/self/fd`, ≤ 4 bytes per layer (`NNN:`), 9 + 500 × 4 ≈ 2009 bytes.
 */
export function linkRelativeDataBytes(layers: number, idLength = 64, reserve = 120): number {
  if (layers <= 0) return 0;
  const lowerdir = 'lowerdir='.length + layers * LINK_ENTRY_BYTES - 1;
  const upperWork = 2 * ('upperdir='.length + idLength + '/diff'.length) + 1;
  return lowerdir + 1 + upperWork + reserve;
}

/** How many layers fit one page with link-relative data (the answer is 128-ish for 4 KiB). */
export function maxLinkRelativeLayers(pageSize = 4096, idLength = 64, reserve = 120): number {
  let n = 0;
  while (linkRelativeDataBytes(n + 1, idLength, reserve) <= pageSize - 1) n++;
  return n;
}
