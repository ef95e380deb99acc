/**
 * Whiteout names and markers shared by apply, diff and changes.
 *
 * In layer tarballs (OCI image spec, Docker) and in aufs branches, `.wh.<name>` deletes `<name>` and
 * `.wh..wh..opq` makes its directory opaque. aufs keeps more `.wh..wh.*` names for its own metadata
 * (`.wh..wh.plnk`, `.wh..wh.aufs`, `.wh..wh.orph`) which are never part of a layer's content.
 * In an overlayfs upper dir the same facts are a 0/0 character device and the `overlay.opaque` xattr.
 * See https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts and
 * https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories
 */

/** Prefix of a whiteout entry: `.wh.foo` deletes `foo`. */
export const WHITEOUT_PREFIX = '.wh.';
/** Prefix of aufs' own metadata names (and of the opaque marker). */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
/** The opaque-directory marker: hides everything lower layers put in its directory. */
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
/** aufs metadata entries that Docker skips when applying and never exports. */
export const AUFS_META_NAMES: readonly string[] = ['.wh..wh.plnk', '.wh..wh.aufs', '.wh..wh.orph'];

/** overlayfs xattr marking an opaque directory (value `y`), trusted namespace (needs CAP_SYS_ADMIN). */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
/** The same in the user namespace, used with the `userxattr` mount option (rootless). */
export const OVERLAY_OPAQUE_USER_XATTR = 'user.overlay.opaque';
/** Prefix of all overlayfs private xattrs, never part of a layer's content. */
export const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';
export const OVERLAY_USER_XATTR_PREFIX = 'user.overlay.';

/** The opaque xattr name for the given mode. */
export function opaqueXattrName(userxattr = false): string {
  return userxattr ? OVERLAY_OPAQUE_USER_XATTR : OVERLAY_OPAQUE_XATTR;
}

/** True for the base name of a whiteout of either kind (`.wh.x` or `.wh..wh..opq`), or aufs metadata. */
export function isWhiteoutName(base: string): boolean {
  return base.startsWith(WHITEOUT_PREFIX);
}

/** True for the opaque marker's base name. */
export function isOpaqueName(base: string): boolean {
  return base === WHITEOUT_OPAQUE;
}

/** True for aufs metadata names (`.wh..wh.*` other than the opaque marker). */
export function isAufsMetaName(base: string): boolean {
  return base.startsWith(WHITEOUT_META_PREFIX) && base !== WHITEOUT_OPAQUE;
}

/**
 * The name a plain whiteout deletes: `.wh.foo` → `foo`; undefined for the opaque marker, aufs metadata and
 * non-whiteouts.
 */
export function whiteoutTarget(base: string): string | undefined {
  if (!base.startsWith(WHITEOUT_PREFIX) || base.startsWith(WHITEOUT_META_PREFIX)) return undefined;
  const name = base.slice(WHITEOUT_PREFIX.length);
  return name === '' ? undefined : name;
}

/** The whiteout base name that deletes `name`: `foo` → `.wh.foo`. */
export function whiteoutName(name: string): string {
  return WHITEOUT_PREFIX + name;
}

/** True when a stat result is an overlay whiteout: a character device with device number 0/0. */
export function isOverlayWhiteoutStat(st: { isCharacterDevice(): boolean; rdev: number | bigint }): boolean {
  return st.isCharacterDevice() && Number(st.rdev) === 0;
}
