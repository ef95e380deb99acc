// The output side of diff: 1 MiB buffers that headers and file content are written into, handed to a
// sink when full. Two sinks:
// - a Node Readable (`diff()`): each full buffer is pushed and a fresh one taken, since the consumer
//   keeps what it was given (from huge-page slabs: fresh-chunks.ts);
// - a file descriptor (`diffToFile()`): full buffers are written in order and come back for reuse — no
//   page faults for fresh buffers, no GC of them. To a regular file they are written synchronously until
//   the content reader starts (see FdSink), otherwise one `fs.write` at a time on the libuv pool while the
//   next one fills.
import { fstatSync, write, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { FreshChunks } from '../fresh-chunks.js';

export const BUFFER_SIZE = 1 << 20;

export interface TarSink {
  /** Takes the first `length` bytes of `buf`; returns the buffer to fill next. */
  submit(buf: Buffer, length: number): Buffer;
  /** When the consumer is behind: a promise of it catching up (the producer waits between entries). */
  wait(): Promise<void> | undefined;
}

export class TarBuffer {
  buf: Buffer;
  pos = 0;
  /** Tar bytes produced so far. */
  bytes = 0;
  private readonly sink: TarSink;

  constructor(sink: TarSink) {
    this.sink = sink;
    this.buf = Buffer.allocUnsafe(BUFFER_SIZE);
  }

  /** Makes room for `n` contiguous bytes (n ≤ BUFFER_SIZE). */
  room(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
  }

  flush(): void {
    if (this.pos === 0) return;
    this.buf = this.sink.submit(this.buf, this.pos);
    this.pos = 0;
  }

  wait(): Promise<void> | undefined {
    return this.sink.wait();
  }

  /** Counts `n` bytes just written at `buf[pos]` (by a read into the buffer, say). */
  advance(n: number): void {
    this.pos += n;
    this.bytes += n;
  }

  zeros(n: number): void {
    while (n > 0) {
      if (this.pos === this.buf.length) this.flush();
      const k = Math.min(n, this.buf.length - this.pos);
      this.buf.fill(0, this.pos, this.pos + k);
      this.advance(k);
      n -= k;
    }
  }

  /** Writes `text`, `bytes` long in UTF-8 (at most BUFFER_SIZE: PAX text records). */
  writeText(text: string, bytes: number): void {
    this.room(bytes);
    this.buf.write(text, this.pos, bytes, 'utf8');
    this.advance(bytes);
  }

  copyFrom(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      if (this.pos === this.buf.length) this.flush();
      const k = Math.min(data.length - off, this.buf.length - this.pos);
      data.copy(this.buf, this.pos, off, off + k);
      this.advance(k);
      off += k;
    }
  }
}

/** Pushes into `out`; behind while `out` is over its high-water mark, until its next read(). */
export class ReadableSink implements TarSink {
  private behind = false;
  private readonly chunks = new FreshChunks();
  private resume: (() => void) | undefined;
  private readonly out: Readable;

  constructor(out: Readable) {
    this.out = out;
  }

  /** To be called from the Readable's read(). */
  read(): void {
    const r = this.resume;
    this.resume = undefined;
    r?.();
  }

  submit(buf: Buffer, length: number): Buffer {
    if (!this.out.push(buf.subarray(0, length))) this.behind = true;
    // The consumer keeps what it was pushed: fresh memory, in huge pages where the host has them.
    return this.chunks.take(BUFFER_SIZE);
  }

  /**
   * To be called once the Readable is destroyed: a producer waiting for the consumer wakes up and stops
   * (its next wait() fails), so that the walk ends and lets go of what it holds open.
   */
  destroyed(): void {
    this.read();
  }

  wait(): Promise<void> | undefined {
    if (this.out.destroyed) return Promise.reject(new Error('layer stream destroyed'));
    if (!this.behind) return undefined;
    this.behind = false;
    return new Promise<void>((resolve) => {
      this.resume = resolve;
    });
  }
}

/**
 * Writes to `fd` in order, at its current position. A regular file is written synchronously, in the
 * calling thread, until `writeInBackground()`: there the write is a page-cache copy that cannot block
 * on a reader, and when the calling thread also reads every file's content (bytes dominate: a rootfs)
 * handing the writes to the libuv pool made diffToFile slower, not faster (rootfs on tmpfs, 7
 * alternating rounds: 0.32 s synchronous against 0.36 s; GNU tar 0.22–0.24 s) — a write waits for the
 * calling thread's event loop to be issued, and a third busy thread on two cores takes turns with the
 * others. Anything else (a pipe, whose reader may be this very process) and a regular file once the
 * content reader runs (trees of small files, where the calling thread walks and the write overlaps
 * that walk: 1.76 s in the background against 1.94 s synchronous) is written one `fs.write` at a time
 * on the libuv pool; behind while a full buffer waits for the one in flight. A write error fails the
 * next `wait()` or `drain()` (thrown by `submit` when synchronous).
 */
export class FdSink implements TarSink {
  private readonly fd: number;
  private readonly spare: Buffer[] = [];
  private readonly queue: Array<{ buf: Buffer; length: number }> = [];
  private writing = false;
  private error: unknown;
  private wake: (() => void) | undefined;
  private synchronous: boolean;

  constructor(fd: number) {
    this.fd = fd;
    let regular = false;
    try {
      regular = fstatSync(fd).isFile();
    } catch {
      // A bad descriptor: the first write reports it.
    }
    this.synchronous = regular;
  }

  /** From now on, writes go to the libuv pool (the calling thread has other work to overlap them with). */
  writeInBackground(): void {
    this.synchronous = false;
  }

  submit(buf: Buffer, length: number): Buffer {
    if (this.synchronous) {
      for (let off = 0; off < length; ) off += writeSync(this.fd, buf, off, length - off);
      return buf;
    }
    this.queue.push({ buf, length });
    this.next();
    return this.spare.pop() ?? Buffer.allocUnsafe(BUFFER_SIZE);
  }

  private next(): void {
    if (this.writing || this.error !== undefined) return;
    const item = this.queue.shift();
    if (!item) return;
    this.writing = true;
    const go = (off: number) => {
      write(this.fd, item.buf, off, item.length - off, null, (err, n) => {
        if (err) {
          this.error = err;
        } else if (off + n < item.length) {
          return go(off + n); // a short write (a pipe): the rest, before anything else
        } else {
          this.spare.push(item.buf);
        }
        this.writing = false;
        this.next();
        const w = this.wake;
        this.wake = undefined;
        w?.();
      });
    };
    go(0);
  }

  wait(): Promise<void> | undefined {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.queue.length === 0) return undefined;
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    }).then(() => this.wait());
  }

  /** Resolves once everything submitted is written. */
  async drain(): Promise<void> {
    while (this.writing || this.queue.length > 0) {
      if (this.error !== undefined) throw this.error;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.error !== undefined) throw this.error;
  }
}
