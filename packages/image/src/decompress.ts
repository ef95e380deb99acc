import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { ImageError } from './errors.js';
import type { Compression } from './media-types.js';

/**
 * Output chunk of gunzip. zlib's default (16 KiB) is a round trip through the libuv pool for every
 * 16 KiB of tar, each waiting for the main thread (which hashes, and usually also writes the layer).
 */
const GUNZIP_CHUNK = 1 << 20;

/**
 * A decompressing stream for a layer blob. zstd uses Node's own zlib binding when present (Node ≥ 22.15),
 * else the `zstd` binary when it is on PATH (decoding on another core: a 211 MB rootfs layer flattened in
 * ~1 s against ~2.1 s with fzstd here), else the pure-JS fzstd; `OVL_ZSTD=js` forces fzstd. Its errors are
 * raw zlib/fzstd/zstd errors; `badLayer` turns them into the ImageError a caller sees.
 */
export function decompressor(compression: Exclude<Compression, 'none'>): Duplex {
  if (compression === 'gzip') return zlib.createGunzip({ chunkSize: GUNZIP_CHUNK });
  const native = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (typeof native === 'function') return native();
  const binary = process.env.OVL_ZSTD === 'js' ? undefined : zstdBinary();
  return binary ? zstdProcess(binary) : fzstdTransform();
}

let zstdPath: string | undefined | null = null;

/** The `zstd` binary on PATH, looked up once. */
function zstdBinary(): string | undefined {
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
 * `zstd -dc` as a Duplex: what is written goes to its stdin, its stdout is read. The readable side ends
 * only once zstd has exited 0 — a truncated or corrupt blob makes it exit 1 after writing what it could,
 * and that must be an error, not an end. Destroying the Duplex kills the child.
 */
function zstdProcess(binary: string): Duplex {
  const child = spawn(binary, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  let outEnded = false;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const settle = () => {
    if (!outEnded || !exit || duplex.destroyed) return;
    if (exit.code === 0) duplex.push(null);
    else
      duplex.destroy(
        new Error(`zstd -d failed (${exit.code ?? exit.signal}): ${stderr.trim() || 'no message'}`),
      );
  };
  const duplex = new Duplex({
    // Write errors (EPIPE once zstd gave up) are not the story: its exit status and message are.
    write(chunk: Buffer, _enc, cb) {
      child.stdin.write(chunk, () => cb());
    },
    final(cb) {
      child.stdin.end(() => cb());
    },
    read() {
      child.stdout.resume();
    },
    destroy(err, cb) {
      if (exit === undefined) child.kill();
      cb(err);
    },
  });
  child.stdout.on('data', (d: Buffer) => {
    if (!duplex.push(d)) child.stdout.pause();
  });
  child.stdout.on('end', () => {
    outEnded = true;
    settle();
  });
  // zstd stops reading at the end of its frame or on an error: writes after that fail with EPIPE, and
  // its exit status is what tells which.
  child.stdin.on('error', () => {});
  child.on('error', (err) => duplex.destroy(err));
  child.on('close', (code, signal) => {
    exit = { code, signal };
    outEnded = true;
    settle();
  });
  return duplex;
}

export function badLayer(cause: unknown, compression: Compression, digest: string): ImageError {
  if (cause instanceof ImageError) return cause;
  return new ImageError(
    'ERR_OVL_BAD_LAYER',
    `layer blob ${digest} cannot be decompressed as ${compression} (${(cause as Error)?.message ?? cause}); ` +
      'it is truncated or corrupt — fetch the image again',
    { digest, cause },
  );
}

function fzstdTransform(): Transform {
  let out: Transform;
  const z = new Decompress((data) => {
    // fzstd may reuse its window buffer; copy before handing the bytes on.
    if (data.length) out.push(Buffer.from(data));
  });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        z.push(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        z.push(new Uint8Array(0), true);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  return out;
}
