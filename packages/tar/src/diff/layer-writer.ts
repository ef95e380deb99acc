// Writes LayerEntry values as a tar stream with tar-stream's pack(), honouring back-pressure: the
// producer stops reading files once 256 KiB of entries wait in tar-stream, so memory stays flat.
// tar-stream encodes every ustar header; the PAX extended header (when one is needed) comes from pax.ts,
// put in place of tar-stream's string-only PAX encoder through its `_encodePax` hook (checked below).
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { LayerEntry } from './layer-entry.js';
import { clampOctal, paxRecords, ustarFallbackLink, ustarFallbackName } from './pax.js';

/** Files up to this size are read in one piece; larger ones are streamed in chunks of this size. */
const CHUNK = 1 << 20;
const BLOCK = 512;
const HIGH_WATER = 1 << 20;
const BATCH = 256 << 10;
const IN_FLIGHT = 256 << 10;
const EMPTY = Buffer.alloc(0);
const S_IFREG = 0o100000;

type PackHeader = Omit<Partial<tarStream.Header>, 'type'> & { name: string; type?: string; pax?: unknown };
interface PackInternals {
  _encode(header: PackHeader): void;
  _encodePax(header: PackHeader): void;
  push(chunk: Buffer | null): boolean;
}

export interface LayerWriterProgress {
  bytes: number;
  entries: number;
}

/**
 * Runs `produce` against a fresh tar-stream pack and returns the tar as a Node Readable. `produce`
 * gets a `write(entry)` that resolves once the entry is in the stream; throwing ends the stream with
 * that error.
 */
export function layerStream(
  produce: (write: (entry: LayerEntry) => Promise<void>) => Promise<void>,
  options: { signal?: AbortSignal; onProgress?: (p: LayerWriterProgress) => void } = {},
): Readable {
  // Large buffers on both sides: each hand-off to the consumer (often a file write through the libuv
  // pool) then carries many entries instead of a few 512-byte blocks.
  const pack = tarStream.pack({ highWaterMark: HIGH_WATER });
  installPaxEncoder(pack);
  const progress = { bytes: 0, entries: 0 };
  const out = new Readable({
    highWaterMark: HIGH_WATER,
    read() {
      pack.resume();
    },
    destroy(err, cb) {
      pack.destroy();
      cb(err);
    },
  });
  // tar-stream emits every header, body and padding as its own chunk; coalescing them into BATCH-sized
  // buffers spares each downstream stage (a file write, gzip) thousands of tiny writes.
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (batchBytes === 0) return;
    const chunk = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchBytes);
    batch = [];
    batchBytes = 0;
    if (!out.push(chunk)) pack.pause();
  };
  pack.on('data', (data: unknown) => {
    const chunk = data as Buffer;
    progress.bytes += chunk.length;
    if (chunk.length >= BATCH) {
      // File content in big pieces goes through as it is, without a copy.
      flush();
      if (!out.push(chunk)) pack.pause();
      return;
    }
    batch.push(chunk);
    batchBytes += chunk.length;
    if (batchBytes >= BATCH) flush();
    else if (!flushScheduled) {
      // Never hold data back while the producer waits for something else.
      flushScheduled = true;
      setImmediate(flush);
    }
  });
  pack.on('end', () => {
    flush();
    out.push(null);
  });
  pack.on('error', (err: Error) => out.destroy(err));

  // Entries are handed to tar-stream without waiting for each to be consumed; the producer only waits
  // once IN_FLIGHT bytes are queued, so small files do not each pay a round trip through the consumer.
  const queue: Array<{ done: Promise<void>; bytes: number }> = [];
  let queued = 0;
  let failure: unknown;
  const settleOldest = async () => {
    const head = queue.shift()!;
    await head.done;
    queued -= head.bytes;
  };
  const write = async (entry: LayerEntry) => {
    if (failure) throw failure;
    if (out.destroyed) throw new Error('layer stream destroyed');
    options.signal?.throwIfAborted();
    const bytes = BLOCK + entry.size;
    if (entry.type === 'file' && entry.size > CHUNK) {
      while (queue.length > 0) await settleOldest();
      await writeEntry(pack, entry);
    } else {
      const done = writeEntry(pack, entry);
      done.catch((err: unknown) => {
        failure ??= err;
      });
      queue.push({ done, bytes });
      queued += bytes;
      while (queued > IN_FLIGHT) await settleOldest();
    }
    progress.entries++;
    options.onProgress?.({ ...progress });
  };
  produce(write)
    .then(async () => {
      while (queue.length > 0) await settleOldest();
      pack.finalize();
    })
    .catch((err: unknown) => {
      if (!out.destroyed) out.destroy(err as Error);
    });
  return out;
}

function installPaxEncoder(pack: tarStream.Pack): void {
  const internals = pack as unknown as PackInternals;
  const encode = Object.getPrototypeOf(pack)._encode as PackInternals['_encode'] | undefined;
  if (typeof encode !== 'function' || typeof internals._encodePax !== 'function') {
    throw new Error(
      'tar-stream changed its internals (Pack#_encode/_encodePax); @ovl/tar needs tar-stream 3.x',
    );
  }
  internals._encodePax = (header: PackHeader) => {
    const records = header.pax as Buffer;
    const plain: PackHeader = { ...header, pax: undefined };
    encode.call(pack, {
      name: 'PaxHeader',
      type: 'pax-header',
      size: records.length,
      mode: 0o644,
      uid: header.uid,
      gid: header.gid,
      mtime: header.mtime,
    });
    internals.push(records);
    const pad = records.length % BLOCK;
    if (pad) internals.push(Buffer.alloc(BLOCK - pad));
    encode.call(pack, plain);
  };
}

function headerOf(entry: LayerEntry): PackHeader {
  const fullName = entry.type === 'directory' ? `${entry.name}/` : entry.name;
  const pax = paxRecords(entry, fullName);
  const header: PackHeader = {
    name: pax ? ustarFallbackName(fullName) : fullName,
    type: entry.type,
    // tar-stream replaces a falsy mode with 0644 and writes only the low 12 bits, so a file-type bit
    // keeps mode 0 (whiteouts) intact.
    mode: entry.mode | S_IFREG,
    uid: clampOctal(entry.uid, 'id'),
    gid: clampOctal(entry.gid, 'id'),
    size: entry.size,
    mtime: new Date(clampOctal(entry.mtime.sec, 'time') * 1000),
    uname: '',
    gname: '',
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  };
  if (entry.linkname !== undefined)
    header.linkname = pax ? ustarFallbackLink(entry.linkname) : entry.linkname;
  if (pax) header.pax = pax;
  return header;
}

function writeEntry(pack: tarStream.Pack, entry: LayerEntry): Promise<void> {
  const header = headerOf(entry);
  if (entry.type !== 'file' || entry.size === 0 || !entry.source) {
    // A 'file' entry is only complete once its body is written, even an empty one.
    const body = entry.type === 'file' ? EMPTY : undefined;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      const h = { ...header, size: 0 } as tarStream.Header;
      if (body) pack.entry(h, body, done);
      else pack.entry(h, done);
    });
  }
  const fd = openSync(entry.source, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (entry.size <= CHUNK) {
      const buf = readExactly(fd, entry.size);
      return new Promise<void>((resolve, reject) => {
        pack.entry(header as tarStream.Header, buf, (err) => (err ? reject(err) : resolve()));
      }).finally(() => closeSync(fd));
    }
    return streamFile(pack, header, fd, entry.size).finally(() => closeSync(fd));
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * `size` bytes from `fd`; a file that shrank since it was stat-ed is padded with zeros (as GNU tar does),
 * one that grew is cut: the header already promised `size`.
 */
function readExactly(fd: number, size: number, position: number | null = null): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, position === null ? null : position + off);
    if (n === 0) break;
    off += n;
  }
  if (off < size) buf.fill(0, off);
  return buf;
}

async function streamFile(pack: tarStream.Pack, header: PackHeader, fd: number, size: number): Promise<void> {
  let sink!: ReturnType<tarStream.Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header as tarStream.Header, (err) => (err ? reject(err) : resolve()));
  });
  for (let pos = 0; pos < size; pos += CHUNK) {
    const chunk = readExactly(fd, Math.min(CHUNK, size - pos), pos);
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  (sink as unknown as { end(): void }).end();
  await done;
}
