// Exit codes of the `ovl` command, documented in the package README. Scripts can tell a missing
// layer from a permission problem from a bad image without parsing messages.
export const EXIT = {
  OK: 0,
  /** anything not listed below */
  ERROR: 1,
  /** bad command line: unknown command or option, missing argument */
  USAGE: 2,
  /** the layer, image, mount or file named does not exist */
  NOT_FOUND: 3,
  /** not allowed: run as root or give CAP_SYS_ADMIN */
  PERMISSION: 4,
  /** the kernel or file system lacks what the driver needs */
  NOT_SUPPORTED: 5,
  /** the image is broken: bad digest or DiffID, missing blob, truncated layer, unknown media type */
  BAD_IMAGE: 6,
  /** a layer tarball is hostile or corrupt */
  BAD_LAYER: 7,
} as const;

const BY_CODE: Record<string, number> = {
  ERR_OVL_USAGE: EXIT.USAGE,
  ERR_OVL_UNKNOWN_DRIVER: EXIT.USAGE,
  ERR_OVL_DRIVER_MISMATCH: EXIT.USAGE,
  ERR_OVL_IMAGE_NOT_FOUND: EXIT.NOT_FOUND,
  ERR_OVL_LAYER_NOT_FOUND: EXIT.NOT_FOUND,
  ERR_OVL_NOT_MOUNTED: EXIT.NOT_FOUND,
  ERR_OVL_REF_NOT_FOUND: EXIT.NOT_FOUND,
  ENOENT: EXIT.NOT_FOUND,
  EPERM: EXIT.PERMISSION,
  EACCES: EXIT.PERMISSION,
  ERR_OVL_NOT_SUPPORTED: EXIT.NOT_SUPPORTED,
  ERR_OVL_INCOMPATIBLE_FS: EXIT.NOT_SUPPORTED,
  ERR_OVL_BAD_DIGEST: EXIT.BAD_IMAGE,
  ERR_OVL_BAD_DIFFID: EXIT.BAD_IMAGE,
  ERR_OVL_MISSING_BLOB: EXIT.BAD_IMAGE,
  ERR_OVL_BAD_LAYER: EXIT.BAD_IMAGE,
  ERR_OVL_UNSUPPORTED_MEDIA_TYPE: EXIT.BAD_IMAGE,
  ERR_OVL_NO_MATCHING_PLATFORM: EXIT.BAD_IMAGE,
  ERR_OVL_BAD_IMAGE: EXIT.BAD_IMAGE,
  ERR_OVL_UNSAFE_PATH: EXIT.BAD_LAYER,
  ERR_OVL_BAD_TAR: EXIT.BAD_LAYER,
};

export function exitCodeOf(err: unknown): number {
  const code = (err as { code?: string })?.code;
  return (code ? BY_CODE[code] : undefined) ?? EXIT.ERROR;
}

/** One line a user can act on, added under the message for errors that have a usual fix. */
export function hintFor(err: unknown, driver?: string): string | undefined {
  const code = (err as { code?: string })?.code;
  if (code === 'ERR_OVL_NOT_SUPPORTED' && driver === 'aufs')
    return 'hint: this kernel has no aufs (mainline Linux never had it): use `--driver overlay`, or `auto`';
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return 'hint: mounting needs root or CAP_SYS_ADMIN — run with sudo; `ovl flatten` works without root';
    case 'ERR_OVL_NOT_SUPPORTED':
      return 'hint: load the overlay module (`modprobe overlay`) or pick `--driver vfs`, which needs no mounts';
    case 'ERR_OVL_INCOMPATIBLE_FS':
      return 'hint: put the store (--store) on ext4, xfs or btrfs, or use `--driver vfs`';
    case 'ERR_OVL_NO_MATCHING_PLATFORM':
      return 'hint: pick one of the platforms listed with --platform OS/ARCH[/VARIANT]';
    case 'ERR_OVL_BAD_DIGEST':
    case 'ERR_OVL_BAD_DIFFID':
    case 'ERR_OVL_MISSING_BLOB':
      return 'hint: the image is damaged or incomplete — copy it again (e.g. with skopeo); nothing of the bad layer was kept';
    default:
      return undefined;
  }
}
