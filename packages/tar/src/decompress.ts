/**
 * Layer streams come plain, gzip'ed or zstd'ed (OCI media types `...tar`, `...tar+gzip`, `...tar+zstd`).
 * We sniff the magic bytes rather than trust a media type. gzip goes through Node's zlib (which runs on the
 * libuv pool, so it overlaps with the writer on the main thread). zstd goes through the `zstd` binary
 * when one is on PATH — it decodes in its own process, on the second core, ~5× faster than a JS decoder;
 * its output comes through a 1 MiB pipe (zstdPipe) — and through fzstd's pure-JS streaming decoder
 * otherwise.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { pipe, setPipeSize } from '@ovl/syscall';
import { Decompress } from 'fzstd';
import { TarError } from './errors.js';
import { PipeReader } from './pipe-reader.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

/** What the first bytes of a stream say it is. Needs up to 6 bytes; fewer give 'none'. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd)
    return 'zstd';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (
    head.length >= 6 &&
    head[0] === 0xfd &&
    head[1] === 0x37 &&
    head[2] === 0x7a &&
    head[3] === 0x58 &&
    head[4] === 0x5a &&
    head[5] === 0x00
  )
    return 'xz';
  return 'none';
}

export interface DecompressOptions {
  /** zstd decoder: the `zstd` binary if found ('auto', the default), always fzstd ('js'), or the binary. */
  zstd?: 'auto' | 'js' | 'binary';
  /**
   * A descriptor of a regular file that holds the input's bytes from offset 0 (the file the stream
   * reads). The `zstd` binary then reads it itself, as its stdin, instead of being fed the stream —
   * one copy and one hop per chunk fewer. It moves the descriptor's file position; `apply` passes the
   * layer files it opened itself.
   */
  file?: number;
}

export interface Decompressed {
  compression: Compression;
  /** The plain tar bytes. */
  stream: Readable;
  /**
   * The same bytes as an async iterable; for a plain layer it skips the Readable wrapper (one fewer
   * stream hop per chunk). Consume either this or `stream`, not both.
   */
  chunks: AsyncIterable<Uint8Array>;
}

/** Sniffs `input` and returns a stream of the plain bytes. Never buffers more than the first chunk. */
export async function decompress(
  input: Readable | AsyncIterable<Uint8Array>,
  options: DecompressOptions = {},
): Promise<Decompressed> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let done = false;
  while (headBytes < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    head.push(chunk);
    headBytes += chunk.length;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  const compression = sniffCompression(first);
  async function* raw(): AsyncGenerator<Uint8Array> {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const rawChunks = raw();
  const plain = Readable.from(rawChunks, { objectMode: false });
  switch (compression) {
    case 'none':
      return { compression, stream: plain, chunks: rawChunks };
    case 'gzip': {
      const stream = plain.pipe(createGunzipChecked(plain));
      return { compression, stream, chunks: stream };
    }
    case 'zstd': {
      const useBinary =
        options.zstd === 'binary' || (options.zstd !== 'js' && zstdBinaryPath() !== undefined);
      const stream = useBinary ? zstdViaBinary(plain, options.file) : zstdViaJs(plain);
      return { compression, stream, chunks: stream };
    }
    default:
      plain.destroy();
      throw new TarError(
        'ERR_OVL_UNSUPPORTED_COMPRESSION',
        `layer is ${compression}-compressed; only plain, gzip and zstd layers are supported — decompress it first`,
      );
  }
}

/**
 * Output chunk of the gunzip stream. zlib's default (16 KiB) makes every 16 KiB of tar a round trip
 * through the libuv pool that waits for the main thread, which is busy writing: the rootfs layer
 * gzip'ed took 2.8 s that way, 1.2 s with 1 MiB chunks (GNU `tar -xzf` 2.0 s; tmpfs, 5 alternating rounds).
 */
const GUNZIP_CHUNK = 1 << 20;

function createGunzipChecked(source: Readable): Gunzip {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
  source.on('error', (err) => gunzip.destroy(err));
  return gunzip;
}

/** Decodes zstd with fzstd's streaming decoder, chunk by chunk (pure JS). */
export function zstdViaJs(source: AsyncIterable<Uint8Array>): Readable {
  async function* decode(): AsyncGenerator<Uint8Array> {
    let out: Uint8Array[] = [];
    const d = new Decompress((chunk) => {
      out.push(chunk);
    });
    let sawAny = false;
    for await (const chunk of source) {
      sawAny = true;
      try {
        d.push(chunk);
      } catch (cause) {
        throw badZstd(cause);
      }
      if (out.length > 0) {
        const ready = out;
        out = [];
        for (const c of ready) yield c;
      }
    }
    if (sawAny) {
      try {
        d.push(new Uint8Array(0), true);
      } catch (cause) {
        throw badZstd(cause);
      }
    }
    for (const c of out) yield c;
  }
  return Readable.from(decode(), { objectMode: false });
}

function badZstd(cause: unknown): TarError {
  return new TarError('ERR_OVL_BAD_TAR', `zstd stream is corrupt or truncated: ${(cause as Error).message}`, {
    cause,
  });
}

let zstdPath: string | null | undefined = null;
/** The `zstd` binary on PATH, looked up once. */
export function zstdBinaryPath(): string | undefined {
  if (zstdPath === null) {
    zstdPath = undefined;
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      try {
        accessSync(join(dir, 'zstd'), constants.X_OK);
        zstdPath = join(dir, 'zstd');
        break;
      } catch {}
    }
  }
  return zstdPath;
}

/**
 * zstd's output goes through a pipe of this size, read this much at a time on the libuv pool. Node's own
 * child stdout is a socketpair read 64 KiB at a time on the event loop: per 64 KiB an event, a fresh
 * buffer and a wait for zstd. The rootfs layer file as zstd applied in 1.05 s that way, 0.81 s through
 * a 1 MiB pipe with zstd reading the file itself, 0.86 s from a stream (GNU `tar --zstd -x` 0.44 s;
 * tmpfs, 9 alternating rounds).
 */
const ZSTD_PIPE_SIZE = 1 << 20;
/**
 * How many zstd children at once are read that way. A read waits on its pool thread until zstd writes,
 * and zstd waits for input — which may itself need the pool (a file ReadStream): with every pool thread
 * (4 by default) waiting on a pipe that would deadlock. One at a time leaves the others free; further
 * concurrent decodes read the child's stdout as before.
 */
const MAX_PIPE_READERS = 1;
let pipeReaders = 0;

/** zstd children read through a pipe right now (for tests: it returns to 0 when each one ends). */
export function zstdPipeReaders(): number {
  return pipeReaders;
}

/** A pipe for zstd's stdout, `[readFd, writeFd]`, when one may be read on the pool now. */
function zstdPipe(): [number, number] | undefined {
  if (pipeReaders >= MAX_PIPE_READERS) return undefined;
  let fds: [number, number];
  try {
    fds = pipe();
  } catch {
    return undefined; // no koffi, out of descriptors: the socketpair still works
  }
  try {
    setPipeSize(fds[1], ZSTD_PIPE_SIZE);
  } catch {
    // EPERM over a lowered pipe-max-size: a 64 KiB pipe still reads in fewer hops than the socketpair
  }
  return fds;
}

/**
 * Decodes zstd in a `zstd -dc` child process: the work moves to the other core. With `file` (a regular
 * file of the same bytes from offset 0) zstd reads that as its stdin, and `source` is not read further.
 */
export function zstdViaBinary(source: Readable, file?: number): Readable {
  const bin = zstdBinaryPath();
  if (!bin)
    throw new TarError('ERR_OVL_UNSUPPORTED_COMPRESSION', 'no zstd binary on PATH; use { zstd: "js" }');
  const fds = zstdPipe();
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(bin, ['-dc', '-q'], {
      stdio: [file ?? 'pipe', fds ? fds[1] : 'pipe', 'pipe'],
    });
  } catch (err) {
    if (fds) closeSync(fds[0]);
    throw err;
  } finally {
    // The child has its own copy of the write end; ours would keep the read end from ever seeing EOF.
    if (fds) closeSync(fds[1]);
  }
  let out: Readable;
  if (fds) {
    pipeReaders++;
    out = new PipeReader(fds[0], ZSTD_PIPE_SIZE);
    // Released at the end of the data (no read waits on the pool after it: the next apply, started
    // right away, gets the pipe too), or at the close of a stream destroyed before its end.
    let released = false;
    const release = () => {
      if (!released) pipeReaders--;
      released = true;
    };
    out.once('end', release);
    out.once('close', release);
  } else {
    out = child.stdout!;
  }
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  if (file === undefined) {
    source.on('error', (err) => out.destroy(err));
    child.stdin!.on('error', () => {}); // EPIPE when zstd exits early on bad input; its exit code reports it
    source.pipe(child.stdin!);
  } else {
    source.destroy(); // zstd has its own descriptor of the file: the stream's reads are not needed
  }
  // stdout's end alone does not prove success: hold the end until zstd's exit status is known.
  const result = new Readable({ read() {} });
  out.on('data', (c: Buffer) => {
    if (!result.push(c)) out.pause();
  });
  result._read = () => out.resume();
  let ended = false;
  let exitCode: number | null | undefined;
  const settle = () => {
    if (!ended || exitCode === undefined) return;
    if (exitCode === 0) result.push(null);
    else result.destroy(badZstd(new Error(stderr.trim() || `zstd exited with ${exitCode}`)));
  };
  out.on('end', () => {
    ended = true;
    settle();
  });
  out.on('error', (err) => result.destroy(err));
  child.on('error', (err) => result.destroy(err));
  child.on('close', (code) => {
    exitCode = code;
    settle();
  });
  result._destroy = (err, cb) => {
    source.destroy();
    out.destroy(); // closes our end of the pipe (a read waiting on it ends once zstd is killed)
    if (child.exitCode === null) child.kill();
    cb(err);
  };
  return result;
}
