/**
 * `apply`'s writer threads, seen from the main thread: a process-wide pool of workers (started on
 * first need, unref'd, reused by later applies), and one apply's session on them.
 *
 * Why: applying many small files is system calls, ~86% of it on one thread, and on one thread Node
 * cannot beat GNU tar (a bare loop of the same calls takes about as long as tar's whole run). tar-stream
 * parses on the main thread while the workers create the files. Measured in the prototype, 100,000 small
 * files on tmpfs: 1.31–1.35 s with two writer threads against 1.43–1.52 s for GNU tar and 2.5 s on one
 * thread.
 *
 * The main thread only hands over files it can prove nothing else in this apply touches until the next
 * `barrier()`: regular files in a directory this apply created (or found empty), at a path nothing of
 * this layer has claimed yet (see EntryWriter.dispatch). Every other operation waits for the workers
 * first where it could meet their files. Hand-over is through shared memory (write-ring.ts), no message
 * per file.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { TarError } from '../errors.js';
import { guardWorkerLoad } from '../worker-load.js';
import type { EntryMeta } from './metadata.js';
import { writeFailed } from './resolver.js';
import {
  CTRL,
  CTRL_CELLS,
  FLAG,
  HEADER_BYTES,
  LAYOUT,
  MAX_RECORD,
  RECORD,
  RING_BYTES,
  SLOT,
  type WriterFailure,
} from './write-ring.js';
import { writerSource } from './write-thread.js';

/** A worker that shows no sign of life for this long while it has work is declared dead. */
const STALL_MS = 60_000;
/**
 * Records are published to a worker this many at a time (or sooner, before the main thread waits or
 * when a big body went in): a sleeping worker costs a futex wake to tell, and one per file was the
 * main thread's largest single cost.
 */
const PUBLISH_EVERY = 32;
/** Bodies up to this size are collected and handed over in one record when their entry ends. */
export const INLINE_MAX = 512 << 10;

/** Writer threads to use when `apply` is not told: one per core, up to 4, none on a single core. */
export function defaultThreadCount(): number {
  const cores = availableParallelism();
  return cores >= 2 ? Math.min(cores, 4) : 0;
}

class Thread {
  readonly worker: Worker;
  readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_CELLS * 4));
  readonly ring = new SharedArrayBuffer(RING_BYTES);
  readonly slots = new Float64Array(this.ring);
  readonly bytes = Buffer.from(this.ring);
  readonly port: MessagePort;
  /** Why the worker is gone, once it is. */
  dead: string | undefined;
  /** Taken by a session. */
  busy = false;
  head = 0;
  /** Records written into the ring. */
  submitted = 0;
  /** Records the worker has been told of (SUBMITTED): they are published in batches. */
  published = 0;
  /** Directory ids this worker has been told the path of, this session. */
  readonly knownDirs = new Set<number>();

  constructor(source: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.unref();
    Atomics.store(this.ctrl, CTRL.IDLE, 1);
    this.worker = new Worker(source, {
      eval: true,
      workerData: { ctrl: this.ctrl.buffer, ring: this.ring, layout: LAYOUT, port: port2 },
      transferList: [port2],
      // The worker allocates next to nothing per file: small heaps keep its share of RSS small.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 },
    });
    this.worker.unref();
    const gone = (why: string) => {
      this.dead ??= why;
      const i = pool.indexOf(this);
      if (i >= 0) pool.splice(i, 1);
    };
    this.worker.on('error', (err) => gone(`failed: ${(err as Error).message}`));
    this.worker.on('exit', (code) => gone(`exited with code ${code}`));
    guardWorkerLoad(this.ctrl, CTRL.LOADED, () => this.dead !== undefined);
  }

  /** Starts a session: fresh counters, then the worker enters its loop (READY) when it gets to it. */
  begin(): void {
    const c = this.ctrl;
    for (const cell of [CTRL.SUBMITTED, CTRL.COMPLETED, CTRL.TAIL, CTRL.END, CTRL.ABORT, CTRL.FAILED])
      Atomics.store(c, cell, 0);
    Atomics.store(c, CTRL.IDLE, 0);
    this.head = 0;
    this.submitted = 0;
    this.published = 0;
    this.knownDirs.clear();
    this.busy = true;
    this.worker.postMessage('session');
  }

  ready(): boolean {
    return this.dead === undefined && Atomics.load(this.ctrl, CTRL.READY) === 1;
  }

  /** Ring bytes written and not yet done. */
  backlog(): number {
    if (Atomics.load(this.ctrl, CTRL.COMPLETED) === this.submitted) return 0;
    const tail = Atomics.load(this.ctrl, CTRL.TAIL);
    return this.head >= tail ? this.head - tail : RING_BYTES - tail + this.head;
  }
}

const pool: Thread[] = [];
let source: string | undefined;
/** Writer threads still loading their calls (what a process exit now waits for; for tests). */
export function threadsStarting(): number {
  return pool.filter((t) => t.dead === undefined && Atomics.load(t.ctrl, CTRL.LOADED) === 0).length;
}

/** Writer threads this process has started and not lost (for tests). */
export function threadsStarted(): number {
  return pool.filter((t) => t.dead === undefined).length;
}

function writerProgram(): string {
  if (source === undefined) {
    // import.meta.url in the ESM build, __filename in the CJS one (where tsup leaves import.meta empty).
    // Not `typeof __filename` first: `node -e` and the REPL have a global __filename ('[eval]').
    const url: string | undefined = import.meta.url;
    const here = url ? fileURLToPath(url) : __filename;
    // The worker loads the same @ovl/syscall this package resolves (its CommonJS build: the worker's
    // source is a script).
    source = writerSource(createRequire(here).resolve('@ovl/syscall'));
  }
  return source;
}

/** One apply's use of the writer threads. */
export class WriteThreads {
  private readonly threads: Thread[];
  private readonly dirIds = new Map<string, number>();
  private readonly dirPaths: string[] = [];
  private ended = false;

  /** Takes up to `count` idle pool threads (starting missing ones); undefined when none can be had. */
  static open(count: number): WriteThreads | undefined {
    if (count <= 0) return undefined;
    const threads: Thread[] = [];
    for (const t of pool) {
      if (threads.length === count) break;
      if (!t.busy && t.dead === undefined && Atomics.load(t.ctrl, CTRL.IDLE) === 1) threads.push(t);
    }
    try {
      const program = writerProgram();
      while (threads.length < count && pool.length < 8) {
        const t = new Thread(program);
        pool.push(t);
        threads.push(t);
      }
    } catch {
      // No worker threads here (a locked-down runtime): apply writes on the calling thread.
    }
    if (threads.length === 0) return undefined;
    for (const t of threads) t.begin();
    return new WriteThreads(threads);
  }

  private constructor(threads: Thread[]) {
    this.threads = threads;
  }

  /** Files handed to the workers so far. */
  files = 0;

  /** Resolves once a worker is up (or after `ms`, or when every worker is gone). */
  async whenReady(ms = 2000): Promise<void> {
    const until = Date.now() + ms;
    while (!this.ready() && Date.now() < until && this.threads.some((t) => t.dead === undefined)) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** True when at least one worker is up and can take files (they start asynchronously). */
  ready(): boolean {
    for (const t of this.threads) if (t.ready()) return true;
    return false;
  }

  /**
   * Picks the worker for a file in directory `dir`: the directory's own (files of one directory on
   * one worker do not fight over its lock), unless that one lags well behind another. A `big` body
   * (copied from the layer file) goes to an idle worker if there is one: files written side by side
   * is what scales (two writers of one file take turns on its inode lock).
   */
  pick(dir: string, big = false): number {
    if (big) {
      const i = this.idleThread();
      if (i >= 0) return i;
    }
    const id = this.dirId(dir);
    const n = this.threads.length;
    let best = id % n;
    if (!this.threads[best]!.ready() || this.threads[best]!.backlog() > RING_BYTES / 4) {
      let least = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const t = this.threads[i]!;
        if (!t.ready()) continue;
        const b = t.backlog();
        if (b < least) {
          least = b;
          best = i;
        }
      }
    }
    return best;
  }

  /** A worker that is up and has nothing left to do, or -1. */
  idleThread(): number {
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i]!;
      if (t.ready() && Atomics.load(t.ctrl, CTRL.COMPLETED) === t.submitted) return i;
    }
    return -1;
  }

  private dirId(dir: string): number {
    let id = this.dirIds.get(dir);
    if (id === undefined) {
      id = this.dirPaths.length;
      this.dirIds.set(dir, id);
      this.dirPaths.push(dir);
    }
    return id;
  }

  /**
   * Hands a file to worker `w` (from `pick`): created as `base` in the directory `dirAbs`, with `chunks`
   * as its first (or all) content. With `last` it is also finished: `range` copied from the layer file,
   * then owner (FLAG.CHOWN), mode (FLAG.CHMOD), times.
   */
  file(
    w: number,
    dirAbs: string,
    base: string,
    entry: string,
    meta: EntryMeta,
    flags: number,
    chunks: readonly Uint8Array[],
    last: boolean,
    range?: { fd: number; from: number; length: number },
  ): void {
    const t = this.threads[w]!;
    this.files++;
    const id = this.dirId(dirAbs);
    if (!t.knownDirs.has(id)) {
      this.put(t, RECORD.DIR, id, 0, undefined, dirAbs, '', EMPTY, 0, undefined);
      t.knownDirs.add(id);
    }
    let dataLen = 0;
    for (const c of chunks) dataLen += c.length;
    if (dataLen + HEADER_BYTES + 3 * (base.length + entry.length) <= MAX_RECORD) {
      this.put(t, RECORD.FILE, id, (last ? FLAG.LAST : 0) | flags, meta, base, entry, chunks, dataLen, range);
      return;
    }
    this.put(t, RECORD.FILE, id, flags, meta, base, entry, EMPTY, 0, undefined);
    for (let i = 0; i < chunks.length; i++) {
      this.data(w, entry, meta, flags, chunks[i]!, last && i === chunks.length - 1, range);
    }
  }

  /** More content for the file worker `w` has open; with `last`, the range and the finish. */
  data(
    w: number,
    entry: string,
    meta: EntryMeta,
    flags: number,
    chunk: Uint8Array,
    last: boolean,
    range?: { fd: number; from: number; length: number },
  ): void {
    const t = this.threads[w]!;
    const room = MAX_RECORD - HEADER_BYTES - 3 * entry.length;
    for (let off = 0; off < chunk.length || (off === 0 && last); off += room) {
      const part = chunk.length <= room && off === 0 ? chunk : chunk.subarray(off, off + room);
      const end = off + room >= chunk.length;
      const f = (last && end ? FLAG.LAST : 0) | flags;
      this.put(t, RECORD.DATA, 0, f, meta, '', entry, [part], part.length, last && end ? range : undefined);
      if (end) break;
    }
  }

  /** Every worker closes its directory descriptors (directories were removed or replaced). */
  forgetDirs(): void {
    for (const t of this.threads) {
      if (t.knownDirs.size === 0) continue;
      this.put(t, RECORD.FORGET, 0, 0, undefined, '', '', EMPTY, 0, undefined);
      t.knownDirs.clear();
    }
  }

  /** Waits until every worker has done every record handed to it; throws the first failure. */
  barrier(): void {
    for (const t of this.threads) this.publish(t);
    for (const t of this.threads) {
      if (t.submitted === 0) continue;
      this.wait(t, () => Atomics.load(t.ctrl, CTRL.COMPLETED) === t.submitted);
    }
  }

  /** Throws a failure a worker has reported, without waiting. */
  check(): void {
    for (const t of this.threads) if (Atomics.load(t.ctrl, CTRL.FAILED)) this.failed(t);
  }

  /** The apply is done: waits for the workers, ends their sessions, gives them back to the pool. */
  end(): void {
    if (this.ended) return;
    this.barrier();
    this.release(CTRL.END);
  }

  /** The apply failed: workers drop what is left (closing what they have open) and go back idle. */
  abort(): void {
    if (this.ended) return;
    this.release(CTRL.ABORT);
  }

  private release(cell: number): void {
    this.ended = true;
    for (const t of this.threads) {
      Atomics.store(t.ctrl, cell, 1);
      Atomics.notify(t.ctrl, CTRL.SUBMITTED);
    }
    for (const t of this.threads) {
      // A worker still starting up sees END as soon as its session begins; no need to wait for it.
      if (t.ready()) {
        try {
          this.wait(t, () => Atomics.load(t.ctrl, CTRL.IDLE) === 1, false);
        } catch {
          t.dead ??= 'stalled';
        }
      }
      t.busy = false;
    }
  }

  /** Writes one record into `t`'s ring and publishes it. */
  private put(
    t: Thread,
    type: number,
    dirId: number,
    flags: number,
    meta: EntryMeta | undefined,
    name: string,
    entry: string,
    chunks: readonly Uint8Array[],
    dataLen: number,
    range: { fd: number; from: number; length: number } | undefined,
  ): void {
    // Names are at most 3 UTF-8 bytes per UTF-16 unit: reserve that, then record the real length.
    const bound = (HEADER_BYTES + 3 * (name.length + entry.length) + dataLen + 7) & ~7;
    const off = this.reserve(t, bound);
    const b = t.bytes;
    const nameLen = name.length === 0 ? 0 : b.write(name, off + HEADER_BYTES, 'utf8');
    const entryLen = entry.length === 0 ? 0 : b.write(entry, off + HEADER_BYTES + nameLen, 'utf8');
    let at = off + HEADER_BYTES + nameLen + entryLen;
    for (const c of chunks) {
      b.set(c, at);
      at += c.length;
    }
    const s = t.slots;
    const i = off >> 3;
    s[i + SLOT.LEN] = (at - off + 7) & ~7;
    s[i + SLOT.TYPE] = type;
    s[i + SLOT.DIR_ID] = dirId;
    s[i + SLOT.FLAGS] = flags;
    s[i + SLOT.NAME_LEN] = nameLen;
    s[i + SLOT.ENTRY_LEN] = entryLen;
    s[i + SLOT.DATA_LEN] = dataLen;
    if (meta) {
      s[i + SLOT.OPEN_MODE] = meta.mode & 0o777;
      s[i + SLOT.MODE] = meta.mode;
      s[i + SLOT.UID] = meta.uid;
      s[i + SLOT.GID] = meta.gid;
      s[i + SLOT.ATIME] = meta.atime;
      s[i + SLOT.ATIME_NS] = meta.atimeNsec;
      s[i + SLOT.MTIME] = meta.mtime;
      s[i + SLOT.MTIME_NS] = meta.mtimeNsec;
    }
    s[i + SLOT.RANGE_LEN] = range ? range.length : 0;
    if (range) {
      s[i + SLOT.RANGE_FD] = range.fd;
      s[i + SLOT.RANGE_OFF] = range.from;
    }
    t.head = off + s[i + SLOT.LEN]!;
    t.submitted++;
    // A record with a range (a big body to copy from the layer file) is published at once: the calling
    // thread may go on to copy the next big body itself, synchronously, and a range left for flushSoon
    // then waited for that whole copy (4 × 256 MiB: the workers' copies began only after the calling
    // thread's).
    if (t.submitted - t.published >= PUBLISH_EVERY || dataLen >= 64 << 10 || range) this.publish(t);
    else this.flushSoon();
  }

  /** Tells the worker of every record written so far. */
  private publish(t: Thread): void {
    if (t.published === t.submitted) return;
    t.published = t.submitted;
    Atomics.store(t.ctrl, CTRL.SUBMITTED, t.submitted);
    if (Atomics.load(t.ctrl, CTRL.SLEEPING)) Atomics.notify(t.ctrl, CTRL.SUBMITTED);
  }

  private flushScheduled = false;

  /** Publishes what is left once the main thread gets back to its event loop (it may wait for input). */
  private flushSoon(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.ended) for (const t of this.threads) this.publish(t);
    });
  }

  /**
   * Finds `len` contiguous free bytes at `t`'s head, waiting for the worker when the ring is full. The
   * head never catches up with the worker's tail (so equal positions always mean an empty ring), and a
   * record that does not fit before the ring's end is preceded by a wrap marker.
   */
  private reserve(t: Thread, len: number): number {
    for (;;) {
      if (Atomics.load(t.ctrl, CTRL.FAILED)) this.failed(t);
      const done = Atomics.load(t.ctrl, CTRL.COMPLETED);
      const empty = done === t.submitted;
      const tail = empty ? t.head : Atomics.load(t.ctrl, CTRL.TAIL);
      if (t.head >= tail) {
        if (RING_BYTES - t.head > len) return t.head;
        if (tail !== 0 || empty) {
          t.slots[t.head >> 3] = 0; // wrap marker
          t.head = 0;
          t.submitted++;
          continue;
        }
      } else if (tail - t.head > len) {
        return t.head;
      }
      this.publish(t);
      this.wait(t, () => Atomics.load(t.ctrl, CTRL.COMPLETED) !== done);
    }
  }

  /**
   * Sleeps until `until()` (checked whenever the worker reports progress). Throws the worker's failure,
   * or a stall error when it shows no life for STALL_MS.
   */
  private wait(t: Thread, until: () => boolean, throwFailure = true): void {
    let beat = Atomics.load(t.ctrl, CTRL.BEAT);
    let since = Date.now();
    for (;;) {
      if (until()) return;
      if (throwFailure && Atomics.load(t.ctrl, CTRL.FAILED)) this.failed(t);
      if (Atomics.load(t.ctrl, CTRL.IDLE) === 1 && !until()) {
        if (throwFailure) this.failed(t);
        return;
      }
      const seen = Atomics.load(t.ctrl, CTRL.COMPLETED);
      Atomics.store(t.ctrl, CTRL.MAIN_WAITING, 1);
      if (!until()) Atomics.wait(t.ctrl, CTRL.COMPLETED, seen, 20);
      Atomics.store(t.ctrl, CTRL.MAIN_WAITING, 0);
      const now = Atomics.load(t.ctrl, CTRL.BEAT);
      if (now !== beat || Atomics.load(t.ctrl, CTRL.COMPLETED) !== seen) {
        beat = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        t.dead ??= 'stalled';
        throw new TarError(
          'ERR_OVL_WRITE_FAILED',
          `apply's writer thread has not answered for ${STALL_MS / 1000} s (${t.dead}); the target holds a partly applied layer`,
        );
      }
    }
  }

  /** Turns the failure worker `t` reported into the TarError the main thread would have thrown. */
  private failed(t: Thread): never {
    const m = receiveMessageOnPort(t.port)?.message as WriterFailure | undefined;
    this.abort();
    if (!m) {
      throw new TarError(
        'ERR_OVL_WRITE_FAILED',
        `apply's writer thread stopped (${t.dead ?? 'no reason given'}); the target holds a partly applied layer`,
      );
    }
    if (m.code === undefined && m.what === 'copy the content of') {
      throw new TarError('ERR_OVL_BAD_TAR', `entry '${m.entry}': the layer file ends inside its content`, {
        entry: m.entry,
      });
    }
    throw writeFailed(m.entry, m.path, m.what, Object.assign(new Error(m.message), { code: m.code }));
  }
}

const EMPTY: readonly Uint8Array[] = [];
