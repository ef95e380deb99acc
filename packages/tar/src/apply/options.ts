/** Options and result of `apply`. */

/** One range of a user-namespace id map, as in /proc/<pid>/uid_map: container ids → host ids. */
export interface IdMapping {
  containerId: number;
  hostId: number;
  size: number;
}

export type WhiteoutFormat = 'overlay' | 'aufs' | 'flatten';

export interface ApplyProgress {
  /** Bytes of the (decompressed) tar stream consumed so far. */
  bytes: number;
  /** Entries handled so far (headers of long names and PAX records not counted). */
  entries: number;
}

export interface ApplyOptions {
  /**
   * How whiteouts land (default 'flatten'):
   * - 'flatten': on a merged tree — `.wh.x` deletes x, `.wh..wh..opq` empties its dir of older content;
   * - 'overlay': for an overlayfs upper dir — 0/0 char devices and the `overlay.opaque` xattr;
   * - 'aufs': kept as the files they are (an aufs branch).
   */
  format?: WhiteoutFormat;
  /** overlay format: mark opaque dirs with `user.overlay.opaque` instead of `trusted.overlay.opaque`. */
  userxattr?: boolean;
  /** Map the entries' uids (container ids) to host ids; an id outside every range is an error. */
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
  /** Refuse char and block device entries (ERR_OVL_DEVICE_REFUSED); fifos and whiteouts stay allowed. */
  noDevices?: boolean;
  /** chown entries to their (mapped) uid/gid. Default: when running as root. */
  preserveOwners?: boolean;
  /** Called after each entry and each MiB of content; cheap enough for progress bars. */
  onProgress?: (p: ApplyProgress) => void;
  signal?: AbortSignal;
  /**
   * Writer threads that create files while the calling thread parses (default: one per core, up to 4,
   * when there are at least 2 cores; started at the 1000th entry when entries average under 6 KiB —
   * layers of many small files, where system calls, not bytes, take the time — or, for big bodies only,
   * at the first body of 8 MiB or more in a layer file). 0 writes everything on the calling thread.
   * Given explicitly (or by the OVL_APPLY_THREADS environment variable), they start at once and apply
   * waits for them to be up.
   */
  threads?: number;
  /** zstd decoder choice; see `decompress`. */
  zstd?: 'auto' | 'js' | 'binary';
}

export interface ApplyResult {
  /** Bytes of the decompressed tar stream (what containers/storage reports as the layer's size). */
  bytes: number;
  /** Entries handled (files, dirs, links, devices, whiteouts). */
  entries: number;
  /** Bytes of file content written. */
  contentBytes: number;
  /** Compression that was sniffed on the input. */
  compression: 'none' | 'gzip' | 'zstd';
  /**
   * Non-fatal problems, as Docker tolerates them: xattrs the file system refused (ENOTSUP/EPERM).
   * At most 100 are kept.
   */
  warnings: string[];
  /** Files created by writer threads (the rest were written on the calling thread). */
  threadedFiles: number;
}
