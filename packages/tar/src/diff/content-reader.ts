// Reads the content of small files on the second core while the main thread walks the tree and encodes.
// The walk (readdir, lstat, llistxattr) and the content reads (open, read, close) each take about half of
// a diff of small files, one after another on one thread; here a worker thread reads batch k while the
// main thread walks batch k+1. One message per batch (a few hundred files), not per file: a message costs
// tens of µs. The worker is started on the first full batch, so small diffs never pay its start-up.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { portableWorkerSource } from '../worker-source.js';

export interface ReadRequest {
  paths: string[];
  sizes: number[];
  /** Size of a new buffer when `spare` is missing or too small (callers keep it constant, for reuse). */
  bufferSize?: number;
  /** A buffer of an earlier batch, handed back for reuse (its pages are already mapped). */
  spare?: ArrayBuffer;
}

export interface ReadResult {
  /** The files' contents back to back, each exactly its size: zeros past the end of a file that shrank. */
  data: ArrayBuffer;
  /** Files that could not be read (vanished, not readable): their index and error. */
  errors: Array<{ index: number; code?: string; message: string }>;
}

/**
 * Reads `paths` into one buffer, each file exactly `sizes[i]` bytes (the header already promised them):
 * a file that shrank since it was stat-ed is padded with zeros (GNU tar's behaviour), one that grew is
 * cut. The last path component is not followed. Runs in the worker, and on the main thread until the
 * worker is up; self-contained, since the worker runs its source text.
 */
export function readBatch(req: ReadRequest, fs = { closeSync, constants, openSync, readSync }): ReadResult {
  let total = 0;
  for (const s of req.sizes) total += s;
  const data =
    req.spare && req.spare.byteLength >= total ? req.spare : new ArrayBuffer(Math.max(total, 1 << 20));
  const buf = new Uint8Array(data);
  const errors: ReadResult['errors'] = [];
  let off = 0;
  for (let i = 0; i < req.paths.length; i++) {
    const size = req.sizes[i]!;
    let got = 0;
    try {
      const fd = fs.openSync(req.paths[i]!, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        while (got < size) {
          const n = fs.readSync(fd, buf, off + got, size - got, got);
          if (n === 0) break;
          got += n;
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      errors.push({ index: i, code: e.code, message: e.message });
    }
    if (got < size) buf.fill(0, off + got, off + size);
    off += size;
  }
  return { data, errors };
}

/**
 * The worker's whole program: `readBatch` for every message. Its modules come in as arguments, required
 * by the source text below: a bundler rewrites a `require` inside a function body (esbuild's ESM output
 * makes it `__require`, which the worker does not have), but not one inside a string.
 */
function workerMain(
  parentPort: import('node:worker_threads').MessagePort,
  fs: Parameters<typeof readBatch>[1],
  read: typeof readBatch,
): void {
  parentPort.on('message', (req: ReadRequest) => {
    const r = read(req, fs);
    parentPort.postMessage(r, [r.data]);
  });
}

const WORKER_SOURCE = portableWorkerSource(
  `(${workerMain.toString()})(require('node:worker_threads').parentPort, require('node:fs'), ${readBatch.toString()});`,
  '/',
);

interface Pending {
  req: ReadRequest;
  resolve: (r: ReadResult) => void;
}

export class ContentReader {
  private worker: Worker | undefined;
  private failed = false;
  private readonly pending: Pending[] = [];

  /**
   * Reads a batch on the worker (started on the first call). A worker that cannot start or dies only
   * costs speed: its batches are read here instead.
   */
  read(req: ReadRequest): Promise<ReadResult> {
    if (!this.failed) this.start();
    const worker = this.worker;
    if (!worker) return Promise.resolve(readBatch(req));
    return new Promise<ReadResult>((resolve) => {
      // The spare buffer goes to the worker (transferred): a retry here reads into a new one.
      this.pending.push({ req: { paths: req.paths, sizes: req.sizes }, resolve });
      worker.ref(); // keeps the process alive while a batch is out (unref'd when idle)
      worker.postMessage(req, req.spare ? [req.spare] : []);
    });
  }

  private start(): void {
    if (this.worker) return;
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true });
    } catch {
      this.failed = true;
      return;
    }
    this.worker = worker;
    worker.unref();
    worker.on('message', (r: ReadResult) => {
      this.pending.shift()?.resolve(r);
      if (this.pending.length === 0) worker.unref();
    });
    const fallBack = () => {
      if (this.worker !== worker) return;
      this.failed = true;
      this.worker = undefined;
      void worker.terminate();
      for (const p of this.pending.splice(0)) p.resolve(readBatch(p.req));
    };
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
  }

  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }
}
