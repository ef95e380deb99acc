/**
 * Writes tar entries into the target with as few system calls as an entry allows.
 *
 * Synchronous fs calls, on purpose: measured on this kind of machine, recreating a rootfs's entries with
 * one descriptor per file (open, write, fchown, fchmod, futimes, close — all sync) takes 0.20 s against
 * 2.56 s with fs.promises awaited one by one and 0.90 s with 64 promises in flight; every async call pays
 * a thread-pool round trip (~70–90 µs) that dwarfs the call itself. The libuv pool still works for us
 * meanwhile: reading the input and gunzip run there, overlapping with these writes.
 *
 * A new file is created with O_EXCL: in the common case (a fresh directory) that is the only lookup;
 * only when something is in the way do we lstat it and replace it (Docker's rule: the later entry wins,
 * and a non-directory replaces a directory wholesale). The last path component is never followed.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { Header } from 'tar-stream';
import { TarError } from '../errors.js';
import { cleanEntryName, splitPath } from './entry-name.js';
import type { EntryMeta } from './metadata.js';
import type { ApplyOptions, WhiteoutFormat } from './options.js';
import { PathClaims } from './path-claims.js';
import { PathResolver, writeFailed } from './resolver.js';
import {
  type ApplySyscalls,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  futimensNs,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  utimensat,
} from './syscalls.js';
import { FLAG } from './write-ring.js';
import type { WriteThreads } from './write-threads.js';
import { WrittenPaths } from './written-paths.js';

const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Where an entry goes: its cleaned name, and its real parent dir (relative to the root). */
export interface Placement {
  rel: string;
  parent: string;
  base: string;
  realParent: string;
  real: string;
  abs: string;
}

export class EntryWriter {
  readonly resolver: PathResolver;
  readonly format: WhiteoutFormat;
  readonly sys: ApplySyscalls;
  readonly chown: boolean;
  /** The process umask, read once; -1 when unknown (then every file gets an fchmod). */
  private readonly umask: number;
  /** 'flatten' only: real paths this layer wrote, so opaque markers and whiteouts spare them. */
  readonly written: WrittenPaths | undefined;
  readonly warnings: string[] = [];
  private dirs: string[] = [];
  private dirModes: number[] = [];
  private dirTimes: number[] = [];
  /** The file being written, closed if the apply fails half-way. */
  openFd = -1;
  /**
   * Real parent dir → whether a file created in it is owned by our euid:egid. Learnt from an fstat of
   * the first file made there, because more than the parent decides it (a setgid parent, a `grpid`
   * mount, id-mapped mounts); dropped with the resolver's cache whenever a dir is removed or replaced.
   */
  private creatorOwns = new Map<string, boolean>();
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;
  /**
   * Writer threads, when this apply has them (write-threads.ts). Files handed to them are created
   * later, so every operation that could meet one of them waits for the threads first (`barrier`).
   */
  threads: WriteThreads | undefined;
  /**
   * Whether files of any size go to the threads. When false (threads started only for big bodies, see
   * BIG_BODY in entry.ts), only files `dispatch` is told are big do, and only to an idle thread.
   */
  threadsTakeAll = true;
  /** The plain layer file being read, when it is one (its bodies can be copied from it). */
  layerFd: number | undefined;
  layerSize = 0;
  /** Starts threads for big bodies only, when the apply may use threads and has none (set by apply). */
  wantThreads: (() => void) | undefined;
  /**
   * Real dirs this apply created (and the root, when it was empty): nothing of anyone else is in them,
   * so a file there can go to a writer thread unless something of this layer claimed its name.
   */
  private readonly fresh = new Set<string>();
  /**
   * Real paths in fresh dirs that this apply has created or handed to a thread (hashed: a rare false
   * "claimed" only takes the slow road).
   */
  private readonly claimed = new PathClaims();

  constructor(root: string, options: ApplyOptions, sys: ApplySyscalls, rootEmpty = false) {
    this.resolver = new PathResolver(root);
    this.format = options.format ?? 'flatten';
    this.sys = sys;
    this.chown = options.preserveOwners ?? process.getuid?.() === 0;
    this.umask = readUmask();
    if (rootEmpty) this.fresh.add('');
    this.resolver.onInvalidate = () => {
      this.creatorOwns.clear();
      this.threads?.forgetDirs();
    };
    // A path a thread may still be creating is looked at only once the threads are done.
    this.resolver.beforeLookup = (parent, name) => {
      if (this.claimed.has(parent, name)) this.threads?.barrier();
    };
    const written = this.format === 'flatten' ? new WrittenPaths() : undefined;
    this.written = written;
    this.resolver.onCreate = (real, parent) => {
      this.fresh.add(real);
      written?.addFreshDir(real, parent);
    };
  }

  /** Resolves where an entry goes; creates missing parents. */
  place(name: string, entry: string, createParents = true): Placement | undefined {
    return this.placeClean(cleanEntryName(name, entry), entry, createParents);
  }

  /** `place` for a name `cleanEntryName` already cleaned. */
  placeClean(rel: string, entry: string, createParents = true): Placement | undefined {
    const [parent, base] = splitPath(rel);
    const realParent = rel === '' ? '' : this.resolver.resolveDir(parent, createParents, entry);
    if (realParent === undefined) return undefined;
    const real = rel === '' ? '' : realParent === '' ? base : `${realParent}/${base}`;
    if (this.threads && this.claimed.has(realParent, base)) this.threads.barrier();
    return { rel, parent, base, realParent, real, abs: this.resolver.abs(real) };
  }

  markWritten(p: Placement): void {
    this.written?.add(p.real, p.realParent);
    if (this.fresh.has(p.realParent)) this.claimed.add(p.realParent, p.base);
  }

  /**
   * Whether the regular file `p` can go to a writer thread, and if so the FLAG bits of what finishing
   * it takes (chown, chmod); -1 when it must be written here. It can when a thread is up, the file has
   * no xattrs (rare; written here), its dir is fresh and its name unclaimed (so creating it cannot meet
   * anything: O_EXCL succeeds), and the owner a new file gets in that dir is known (learnt from a first
   * file written here). `big`: a body the thread copies from the layer file itself (bypass).
   */
  dispatch(p: Placement, meta: EntryMeta, big = false): number {
    const threads = this.threads;
    if (threads === undefined || meta.xattrs !== undefined || !threads.ready()) return -1;
    // A big body goes to an idle worker or is copied here, beside theirs: queued behind a worker's
    // copy, it waited while this thread had nothing to do (4 × 256 MiB, threads asked for: ~0.36 s
    // against ~0.30 s with big bodies left to idle workers alone).
    if (big && threads.idleThread() < 0) return -1;
    if (!this.threadsTakeAll && !big) return -1;
    // A fresh dir is a claimed name too (a file entry replacing it is done here).
    if (!this.fresh.has(p.realParent) || this.claimed.has(p.realParent, p.base) || this.fresh.has(p.real))
      return -1;
    let flags = 0;
    if (this.chown) {
      if (meta.uid !== this.euid || meta.gid !== this.egid) flags |= FLAG.CHOWN;
      else {
        const owns = this.creatorOwns.get(p.realParent);
        if (owns === undefined) return -1;
        if (!owns) flags |= FLAG.CHOWN;
      }
    }
    if (this.umask < 0 || meta.mode & 0o7000 || meta.mode & this.umask) flags |= FLAG.CHMOD;
    this.markWritten(p);
    this.claimed.add(p.realParent, p.base);
    return flags;
  }

  /**
   * Removes whatever is at `abs` (recursively for a directory), unless it is a directory and `keepDir`.
   * Returns true when a directory was kept.
   */
  removeExisting(abs: string, entry: string, keepDir: boolean): boolean {
    // What is in the way may be (or hold) a file a thread has yet to create.
    this.threads?.barrier();
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return false;
    try {
      if (st.isDirectory()) {
        if (keepDir) return true;
        rmSync(abs, { recursive: true, force: true });
        this.resolver.invalidate();
      } else {
        unlinkSync(abs);
        if (st.isSymbolicLink()) this.resolver.invalidate();
      }
    } catch (cause) {
      throw writeFailed(entry, abs, 'replace what is there', cause);
    }
    return false;
  }

  // ---- files ----

  /**
   * Creates the file with its final permission bits, so that the common case (0644 under umask 022,
   * no setuid) needs no fchmod afterwards; `finishFile` knows when it does.
   */
  openFile(p: Placement, entry: string, mode = 0o600): number {
    let fd: number;
    try {
      fd = openSync(p.abs, FILE_FLAGS, mode & 0o777);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw writeFailed(entry, p.abs, 'create the file', err);
      this.removeExisting(p.abs, entry, false);
      try {
        fd = openSync(p.abs, FILE_FLAGS, mode & 0o777);
      } catch (cause) {
        throw writeFailed(entry, p.abs, 'create the file', cause);
      }
    }
    this.openFd = fd;
    this.markWritten(p);
    return fd;
  }

  writeChunk(fd: number, chunk: Uint8Array, entry: string, abs: string): void {
    let off = 0;
    try {
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    } catch (cause) {
      throw writeFailed(entry, abs, 'write the file', cause);
    }
  }

  /** Owner, xattrs, mode, times on the open descriptor, then close. chown clears setuid, so chmod after. */
  finishFile(fd: number, p: Placement, meta: EntryMeta, entry: string): void {
    try {
      if (this.chown && !this.ownedAsCreated(fd, p.realParent, meta)) fchownSync(fd, meta.uid, meta.gid);
      if (meta.xattrs) this.setXattrs(p.abs, meta.xattrs, entry);
      // chown clears setuid/setgid, and the umask may have dropped bits: only then is fchmod needed.
      if (this.umask < 0 || meta.mode & 0o7000 || meta.mode & this.umask) fchmodSync(fd, meta.mode);
      futimensNs(fd, meta.atime, meta.atimeNsec, meta.mtime, meta.mtimeNsec);
    } catch (cause) {
      if (cause instanceof TarError) throw cause;
      throw writeFailed(entry, p.abs, 'set the owner, mode or times of', cause);
    } finally {
      this.openFd = -1;
      closeSync(fd);
    }
  }

  /**
   * True when something this apply just created in `realParent` (a dir, a symlink) already has the
   * entry's owner: it is our euid:egid, and a file created there was seen to get exactly that (the same
   * rule gives every kind of inode its owner: a setgid parent, `grpid`, id-mapped mounts). Unknown: false.
   */
  private createdOwned(realParent: string, meta: EntryMeta): boolean {
    return meta.uid === this.euid && meta.gid === this.egid && this.creatorOwns.get(realParent) === true;
  }

  /**
   * True when the new file `fd` already has the entry's owner, so fchown can be skipped (most layers
   * are all root:root, applied as root: one syscall fewer per file).
   */
  private ownedAsCreated(fd: number, realParent: string, meta: EntryMeta): boolean {
    if (meta.uid !== this.euid || meta.gid !== this.egid) return false;
    let owns = this.creatorOwns.get(realParent);
    if (owns === undefined) {
      const st = fstatSync(fd);
      owns = st.uid === this.euid && st.gid === this.egid;
      this.creatorOwns.set(realParent, owns);
    }
    return owns;
  }

  // ---- directories ----

  directory(p: Placement, meta: EntryMeta, entry: string): void {
    let created = false; // by this entry (the target itself never is)
    if (p.rel !== '') {
      created = true;
      try {
        mkdirSync(p.abs, 0o755);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
          throw writeFailed(entry, p.abs, 'create the dir', err);
        created = !this.removeExisting(p.abs, entry, true);
        if (created) {
          try {
            mkdirSync(p.abs, 0o755);
          } catch (cause) {
            throw writeFailed(entry, p.abs, 'create the dir', cause);
          }
        }
      }
      this.resolver.remember(p.rel, p.real);
      if (created) {
        this.written?.addFreshDir(p.real, p.realParent);
        this.fresh.add(p.real);
      } else this.markWritten(p);
    }
    const owned = created && this.createdOwned(p.realParent, meta);
    try {
      if (this.chown && !owned) lchownSync(p.abs, meta.uid, meta.gid);
    } catch (cause) {
      throw writeFailed(entry, p.abs, 'chown the dir', cause);
    }
    // A setgid dir hands its (possibly just changed) group to new files: learn their owner afresh.
    this.creatorOwns.delete(p.real);
    if (meta.xattrs) this.setXattrs(p.abs, meta.xattrs, entry);
    // Mode and times wait for the end: children would bump the mtime, and a read-only mode would stop a
    // non-root apply from creating them.
    this.dirs.push(p.abs);
    this.dirModes.push(meta.mode);
    this.dirTimes.push(meta.atime, meta.atimeNsec, meta.mtime, meta.mtimeNsec);
  }

  /** Sets the deferred directory modes and times, in entry order (a repeated dir entry wins). */
  finishDirectories(): void {
    this.threads?.barrier();
    for (let i = 0; i < this.dirs.length; i++) {
      const abs = this.dirs[i]!;
      // The dir may have been removed or replaced by a later entry: only a real dir gets its metadata
      // (chmod follows symlinks; utimensat with AT_SYMLINK_NOFOLLOW does not, but a replaced path is not ours to touch).
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (!st?.isDirectory()) continue;
      try {
        // Most dirs already have their mode (mkdir 0755 under umask 022); a setgid parent's bit, the
        // umask or the entry's own mode make the others differ.
        if ((st.mode & 0o7777) !== this.dirModes[i]) chmodSync(abs, this.dirModes[i]!); // a dir, not a link
        const t = this.dirTimes;
        utimensat(AT_FDCWD, abs, t[4 * i]!, t[4 * i + 1]!, t[4 * i + 2]!, t[4 * i + 3]!, AT_SYMLINK_NOFOLLOW);
      } catch (cause) {
        throw writeFailed(abs, abs, 'set the mode or times of the dir', cause);
      }
    }
    this.dirs = [];
  }

  // ---- links, devices ----

  symlink(p: Placement, target: string, meta: EntryMeta, entry: string): void {
    this.createWith(p, entry, 'create the symlink', () => symlinkSync(target, p.abs));
    try {
      if (this.chown && !this.createdOwned(p.realParent, meta)) lchownSync(p.abs, meta.uid, meta.gid);
      if (meta.xattrs) this.setXattrs(p.abs, meta.xattrs, entry);
      setTimes(p.abs, meta);
    } catch (cause) {
      if (cause instanceof TarError) throw cause;
      throw writeFailed(entry, p.abs, 'set the owner or times of the symlink', cause);
    }
  }

  /** A hardlink to an earlier entry (or, in 'flatten', to a file of an earlier layer). */
  hardlink(p: Placement, linkname: string, entry: string): void {
    const src = this.place(linkname, entry, false);
    if (!src || src.rel === '') {
      throw new TarError(
        'ERR_OVL_BAD_LINK',
        `hardlink '${entry}' → '${linkname}': the link target does not exist`,
        {
          entry,
        },
      );
    }
    if (src.real === p.real) return; // a link to itself: nothing to do (a repeated entry)
    const st = lstatSync(src.abs, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) {
      throw new TarError(
        'ERR_OVL_BAD_LINK',
        `hardlink '${entry}' → '${linkname}': the target ${st ? 'is a directory' : 'does not exist'}`,
        { entry, path: src.abs },
      );
    }
    // link(2) does not follow a symlink source: a link to a symlink stays inside the target.
    this.createWith(p, entry, 'create the hardlink', () => linkSync(src.abs, p.abs));
  }

  device(p: Placement, header: Header, meta: EntryMeta, entry: string): void {
    const kind =
      header.type === 'character-device' ? S_IFCHR : header.type === 'block-device' ? S_IFBLK : S_IFIFO;
    const dev = kind === S_IFIFO ? 0 : this.sys.makedev(header.devmajor ?? 0, header.devminor ?? 0);
    this.createWith(p, entry, 'create the device node', () => this.sys.mknod(p.abs, kind | 0o600, dev));
    this.nodeMeta(p.abs, meta, entry);
  }

  /** Owner, xattrs, mode and times of a node this apply just created at `abs` (not a symlink). */
  nodeMeta(abs: string, meta: EntryMeta, entry: string): void {
    try {
      if (this.chown) lchownSync(abs, meta.uid, meta.gid);
      if (meta.xattrs) this.setXattrs(abs, meta.xattrs, entry);
      chmodSync(abs, meta.mode); // just created by us: not a link
      setTimes(abs, meta);
    } catch (cause) {
      if (cause instanceof TarError) throw cause;
      throw writeFailed(entry, abs, 'set the owner, mode or times of', cause);
    }
  }

  /** Runs `create`; if something is in the way, removes it and runs it once more. */
  createWith(p: Placement, entry: string, what: string, create: () => void): void {
    try {
      create();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailed(entry, p.abs, what, err);
      this.removeExisting(p.abs, entry, false);
      try {
        create();
      } catch (cause) {
        throw writeFailed(entry, p.abs, what, cause);
      }
    }
    this.markWritten(p);
  }

  setXattrs(abs: string, xattrs: Map<string, Buffer>, entry: string): void {
    for (const [name, value] of xattrs) {
      try {
        this.sys.lsetxattr(abs, name, value);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Docker's rule: a file system that refuses an attribute (ENOTSUP, EPERM) is not fatal.
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EPERM') {
          this.warn(`entry '${entry}': xattr ${name} not set (${code})`);
          continue;
        }
        throw writeFailed(entry, abs, `set xattr ${name} on`, err);
      }
    }
  }

  warn(message: string): void {
    if (this.warnings.length < 100) this.warnings.push(message);
  }

  /** Closes the file left open by a failure. */
  abort(): void {
    this.threads?.abort();
    if (this.openFd >= 0) {
      try {
        closeSync(this.openFd);
      } catch {}
      this.openFd = -1;
    }
  }
}

/** An entry's times on `abs` itself (a symlink's own), to the nanosecond. */
function setTimes(abs: string, meta: EntryMeta): void {
  utimensat(AT_FDCWD, abs, meta.atime, meta.atimeNsec, meta.mtime, meta.mtimeNsec, AT_SYMLINK_NOFOLLOW);
}

function readUmask(): number {
  try {
    // process.umask() with no argument reads it (documentation-only deprecation; there is no other way).
    return process.umask();
  } catch {
    return -1; // worker threads cannot read it
  }
}
