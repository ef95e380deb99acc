// Plans are plain data: which mount calls to make, in which order, from which working directory.
// A driver asks @ovl/mountopts for a plan and hands it to @ovl/syscall's runPlan, so every decision
// can be tested by looking at the plan, and the same plan can be replayed on a real kernel.

/** How the layer list reaches the kernel. */
export type MountStrategy =
  /** one mount(2) whose data names every layer by its absolute path */
  | 'absolute'
  /** the new mount API: fsopen + one fsconfig `lowerdir+` per layer (Linux 6.8+) */
  | 'fsconfig'
  /** layers opened as O_PATH descriptors in a child, named by number, mounted from /proc/self/fd */
  | 'fd-relative'
  /** short `l/<ID>` names relative to the store, mounted from a child whose cwd is the store */
  | 'link-relative'
  /** aufs: one mount that fills a page, then MS_REMOUNT `append:` steps that each fill a page */
  | 'aufs'
  /** aufs, the oldest seed's way: one MS_REMOUNT per remaining layer */
  | 'aufs-append-each';

/** A classic mount(2) call. */
export interface MountCallStep {
  kind: 'mount';
  source: string;
  target: string;
  fstype: string;
  /** MS_* flags, e.g. MS_REMOUNT for aufs append steps */
  flags: number;
  /** the data string exactly as mount(2) receives it (without the trailing NUL) */
  data: string;
  /**
   * Directory to change into before the call. The executor does this in a short-lived child
   * process so the caller's working directory never changes. Relative paths in `data` and
   * `target` resolve against it.
   */
  cwd?: string;
  /** chroot(cwd) as well as chdir, so that nothing outside the store can be named */
  chroot?: boolean;
  /**
   * fd-relative: directories the child opens with O_PATH|O_DIRECTORY, in order. `data` then holds
   * the placeholder `{{fd:N}}` for the descriptor number of openDirs[N]; the executor substitutes
   * the numbers and mounts with cwd `/proc/self/fd`. The planner measured each placeholder as the widest
   * number below `openDirs.length + FD_HEADROOM` (1024), so every substituted descriptor must be below that
   * bound; `fillFdPlaceholders(data, fds)` does the substitution. Literal paths in such data have `{`
   * escaped, so only real placeholders match.
   */
  openDirs?: string[];
}

/** One fsconfig(2) parameter of the new mount API. */
export type FsParam =
  | { type: 'string'; key: string; value: string }
  | { type: 'flag'; key: string }
  /** FSCONFIG_SET_FD (6.13+): the executor opens `path` O_PATH and passes the descriptor */
  | { type: 'fd'; key: string; path: string };

/** fsopen(fstype) → fsconfig(params...) → FSCONFIG_CMD_CREATE → fsmount → move_mount(target). */
export interface FsconfigStep {
  kind: 'fsconfig';
  fstype: string;
  /** the "source" string shown in mountinfo */
  source: string;
  target: string;
  params: FsParam[];
  /** working directory for relative values, as for MountCallStep (child process) */
  cwd?: string;
}

export type MountStep = MountCallStep | FsconfigStep;

export interface MountPlan {
  strategy: MountStrategy;
  steps: MountStep[];
  /** the page size the plan was made for */
  pageSize: number;
  /** the longest data string of any mount(2) step, in bytes (placeholders counted at their widest) */
  dataBytes: number;
}

/** MS_* flags the planners use (linux/mount.h). */
export const MS_RDONLY = 0x1;
export const MS_REMOUNT = 0x20;
