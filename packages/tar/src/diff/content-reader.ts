// Reads the content of small files on the second core while the main thread walks the tree and encodes.
// The walk (readdir, lstat, llistxattr) and the content reads (open, read, close) each take about half of
// a diff of small files, one after another on one thread; here a worker thread reads batch k while the
// main thread walks batch k+1. One message per batch (a few hundred files), not per file: a message costs
// tens of µs. The worker is started on the first full batch, so small diffs never pay its start-up.
// It also lists each file's xattrs on the descriptor it reads from (flistxattr: no path lookup), which
// took ~1.7 µs a file on the main thread by path (llistxattr) — the walk's largest single call.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { guardWorkerLoad } from '../worker-load.js';
import { portableWorkerSource } from '../worker-source.js';

export interface ReadRequest {
  paths: string[];
  /**
   * The same files as names in open directories (undefined where there is none): opened relative to
   * them where the worker has openat. The caller keeps those descriptors open until the batch is back.
   */
  at?: Array<[dirfd: number, name: string] | undefined>;
  sizes: number[];
  /** Size of a new buffer when `spare` is missing or too small (callers keep it constant, for reuse). */
  bufferSize?: number;
  /** A buffer of an earlier batch, handed back for reuse (its pages are already mapped). */
  spare?: ArrayBuffer;
  /** Whether to list the files' xattrs too (done only where the xattr calls could be loaded). */
  xattrs?: boolean;
}

/** One file's xattrs as read on its descriptor: names and raw values, in the order listed. */
export type FileXattrs = Array<[name: string, value: Uint8Array]>;

export interface ReadResult {
  /** The files' contents back to back, each exactly its size: zeros past the end of a file that shrank. */
  data: ArrayBuffer;
  /** Files that could not be read (vanished, not readable): their index and error. */
  errors: Array<{ index: number; code?: string; message: string }>;
  /**
   * With `xattrs` asked and the calls at hand: the xattrs of every file that has any, by index (a file
   * not listed has none). Undefined when they were not read — the caller lists them itself.
   */
  xattrs?: Array<[index: number, xattrs: FileXattrs]>;
  /** Files whose xattrs could not be listed (other than "not supported"): the caller asks again, for the error. */
  xattrFailed?: number[];
}

/** The calls readBatch makes beyond Node's fs (@ovl/syscall's, in the worker). */
export interface XattrCalls {
  flistxattr(fd: number): string[];
  fgetxattr(fd: number, name: string): Uint8Array | undefined;
  openat(dirfd: number, name: string, flags: number): number;
  /** Closes what openat opened: Node's closeSync of a descriptor a worker's fs did not open warns. */
  close(fd: number): void;
}

/**
 * Reads `paths` into one buffer, each file exactly `sizes[i]` bytes (the header already promised them):
 * a file that shrank since it was stat-ed is padded with zeros (GNU tar's behaviour), one that grew is
 * cut. The last path component is not followed. Runs in the worker, and on the main thread until the
 * worker is up; self-contained, since the worker runs its source text.
 */
export function readBatch(
  req: ReadRequest,
  fs = { closeSync, constants, openSync, readSync },
  sys?: XattrCalls,
): ReadResult {
  const withXattrs = req.xattrs === true && sys !== undefined;
  const xattrs: NonNullable<ReadResult['xattrs']> = [];
  const xattrFailed: number[] = [];
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
      const at = sys ? req.at?.[i] : undefined;
      const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;
      const fd = at ? sys!.openat(at[0], at[1], flags | 0o2000000) : fs.openSync(req.paths[i]!, flags); // O_CLOEXEC
      try {
        if (withXattrs) {
          try {
            const names = sys.flistxattr(fd);
            if (names.length > 0) {
              const list: FileXattrs = [];
              for (const name of names) {
                const value = sys.fgetxattr(fd, name);
                if (value !== undefined) list.push([name, value]);
              }
              if (list.length > 0) xattrs.push([i, list]);
            }
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') xattrFailed.push(i);
          }
        }
        while (got < size) {
          const n = fs.readSync(fd, buf, off + got, size - got, got);
          if (n === 0) break;
          got += n;
        }
      } finally {
        if (at) sys!.close(fd);
        else fs.closeSync(fd);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // An openat error names the file by its whole path, as an open by path does.
      const message = sys && req.at?.[i] ? `${e.code}: openat '${req.paths[i]}'` : e.message;
      errors.push({ index: i, code: e.code, message });
    }
    if (got < size) buf.fill(0, off + got, off + size);
    off += size;
  }
  return withXattrs ? { data, errors, xattrs, xattrFailed } : { data, errors };
}

/**
 * The worker's whole program: `readBatch` for every message. Its modules come in as arguments, required
 * by the source text below: a bundler rewrites a `require` inside a function body (esbuild's ESM output
 * makes it `__require`, which the worker does not have), but not one inside a string. `sys` is
 * @ovl/syscall, its xattr calls bound before the worker says it has loaded (worker-load.ts); undefined
 * when it could not be loaded (then the main thread lists xattrs itself).
 */
function workerMain(
  parentPort: import('node:worker_threads').MessagePort,
  fs: Parameters<typeof readBatch>[1],
  read: typeof readBatch,
  sys: XattrCalls | undefined,
): void {
  parentPort.on('message', (req: ReadRequest | 'close') => {
    // Told to stop: the worker leaves by itself, never torn down while it may still be loading.
    if (req === 'close') return parentPort.close();
    const r = read(req, fs, sys);
    parentPort.postMessage(r, [r.data]);
  });
}

/** Loads @ovl/syscall and binds its calls (each fails with EBADF on fd -1), then says so. */
const LOAD_SYSCALLS = `
  const loaded = new Int32Array(require('node:worker_threads').workerData.loaded);
  let sys;
  try {
    sys = require(SYSCALL_MODULE);
    for (const call of [() => sys.flistxattr(-1), () => sys.fgetxattr(-1, 'user.x'), () => sys.openat(-1, 'x', 0), () => sys.close(-1)]) {
      try { call(); } catch {}
    }
  } catch { sys = undefined; }
  Atomics.store(loaded, 0, sys ? 1 : -1);
  Atomics.notify(loaded, 0);
`;

let workerSource: string | undefined;

function source(): string {
  if (workerSource === undefined) {
    // import.meta.url in the ESM build, __filename in the CJS one (as write-threads.ts does).
    const url: string | undefined = import.meta.url;
    const here = url ? fileURLToPath(url) : __filename;
    const syscallModule = createRequire(here).resolve('@ovl/syscall');
    workerSource = portableWorkerSource(
      LOAD_SYSCALLS.replace('SYSCALL_MODULE', JSON.stringify(syscallModule)) +
        `(${workerMain.toString()})(require('node:worker_threads').parentPort, require('node:fs'), ${readBatch.toString()}, sys);`,
      syscallModule,
    );
  }
  return workerSource;
}

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
    const loaded = new Int32Array(new SharedArrayBuffer(4));
    try {
      worker = new Worker(source(), { eval: true, workerData: { loaded: loaded.buffer } });
    } catch {
      this.failed = true;
      return;
    }
    this.worker = worker;
    let gone = false;
    guardWorkerLoad(loaded, 0, () => gone);
    worker.unref();
    worker.on('message', (r: ReadResult) => {
      this.pending.shift()?.resolve(r);
      if (this.pending.length === 0) worker.unref();
    });
    const fallBack = () => {
      gone = true;
      if (this.worker !== worker) return;
      this.failed = true;
      this.worker = undefined;
      for (const p of this.pending.splice(0)) p.resolve(readBatch(p.req));
    };
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
  }

  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    // Not terminate(): a worker still loading koffi must finish that first (worker-load.ts).
    worker.postMessage('close');
    worker.unref();
  }
}
