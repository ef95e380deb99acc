/**
 * The shared memory between `apply`'s main thread and one writer thread (write-threads.ts,
 * write-thread.ts): a control block of Int32 cells and a ring of records.
 *
 * A record is a header of float64 slots, then the file name, the entry name and the data bytes, padded
 * to 8 bytes. The main thread writes records at its head and counts them in SUBMITTED; the worker
 * reads them at TAIL and counts them in COMPLETED. Neither side makes a system call per record unless
 * the other sleeps (the SLEEPING / MAIN_WAITING cells say so): a futex wake per file cost more than the
 * file itself in the prototype.
 */

/** Control cells (Int32Array indices). */
export const CTRL = {
  /** Records written by the main thread (the worker waits on this cell). */
  SUBMITTED: 0,
  /** Records done by the worker (the main thread waits on this cell). */
  COMPLETED: 1,
  /** Byte offset of the worker's next record. */
  TAIL: 2,
  /** 1 while the worker runs a session and reads the ring. */
  READY: 3,
  /** Set by the main thread: finish the records there are, then end the session. */
  END: 4,
  /** Set by the main thread: drop the rest (close what is open) and end the session. */
  ABORT: 5,
  /** Set by the worker: a record failed; details come on the session's MessagePort. */
  FAILED: 6,
  /** 1 while the worker sleeps in Atomics.wait on SUBMITTED. */
  SLEEPING: 7,
  /** 1 while the main thread sleeps in Atomics.wait on COMPLETED. */
  MAIN_WAITING: 8,
  /** Bumped by the worker as it works and while it waits: how the main thread tells a live worker. */
  BEAT: 9,
  /** 1 once the worker has left its session (closed its descriptors): the ring may be reset. */
  IDLE: 10,
  /**
   * 1 once the worker has loaded koffi and bound every libc call it makes. Until then a process exit
   * must wait: koffi aborts the whole process if its environment is torn down while it loads.
   */
  LOADED: 11,
} as const;
export const CTRL_CELLS = 16;

/** Record header slots (Float64Array indices from the record's start / 8). */
export const SLOT = {
  /** Record bytes, 8-aligned; 0 marks a wrap to the ring's start. */
  LEN: 0,
  TYPE: 1,
  DIR_ID: 2,
  FLAGS: 3,
  /** Permission bits for openat (mode & 0o777). */
  OPEN_MODE: 4,
  /** Mode for fchmod (setuid bits included), when FLAG.CHMOD. */
  MODE: 5,
  UID: 6,
  GID: 7,
  /** Whole seconds; the nanoseconds are in ATIME_NS / MTIME_NS. */
  ATIME: 8,
  MTIME: 9,
  NAME_LEN: 10,
  ENTRY_LEN: 11,
  DATA_LEN: 12,
  /** A range of the layer file to copy after the data (fd, offset, length), when RANGE_LEN > 0. */
  RANGE_FD: 13,
  RANGE_OFF: 14,
  RANGE_LEN: 15,
  ATIME_NS: 16,
  MTIME_NS: 17,
} as const;
export const HEADER_BYTES = 18 * 8;

export const RECORD = {
  /** Open a directory: DIR_ID, and its absolute path as the name. */
  DIR: 1,
  /** Close every directory descriptor (the main thread's path cache was dropped). */
  FORGET: 2,
  /** Create a file in DIR_ID named NAME, write DATA; with FLAG.LAST also finish it. */
  FILE: 3,
  /** More content for the open file; with FLAG.LAST also finish it. */
  DATA: 4,
} as const;

export const FLAG = {
  /** The file's last record: copy the range, then owner, mode, times, close. */
  LAST: 1,
  CHOWN: 2,
  CHMOD: 4,
} as const;

/** Ring bytes per worker. Records are at most a quarter of it, so one always fits once it drains. */
export const RING_BYTES = 2 << 20;
export const MAX_RECORD = RING_BYTES / 4;

export interface RingLayout {
  CTRL: typeof CTRL;
  SLOT: typeof SLOT;
  RECORD: typeof RECORD;
  FLAG: typeof FLAG;
  HEADER_BYTES: number;
}

export const LAYOUT: RingLayout = { CTRL, SLOT, RECORD, FLAG, HEADER_BYTES };

/** What a failed record reports on the session's port. */
export interface WriterFailure {
  /** What was being done: 'create the file', 'write the file', ... (completes "cannot …"). */
  what: string;
  code: string | undefined;
  message: string;
  entry: string;
  /** Absolute path of the file (or directory) concerned. */
  path: string;
}
