// Writes LayerEntry values as a tar: headers (ustar-header.ts, PAX records from pax.ts) and file content
// go straight into the output buffers of tar-buffer.ts — a small file is one readSync into the buffer
// right after its header, with no buffer of its own and no copy. tar-stream's pack() did this job with
// a Sink stream, a callback and several tiny pushes per entry, which cost more than the file-system
// calls on trees of small files. Back-pressure: when the consumer is behind the producer waits between
// entries (and between the buffers of a big file), so memory stays flat (a few MiB).
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { LayerEntry } from './layer-entry.js';
import { clampOctal, paxRecords, ustarFallbackLink, ustarFallbackName } from './pax.js';
import { BUFFER_SIZE, FdSink, ReadableSink, TarBuffer } from './tar-buffer.js';
import { BLOCK, writeUstarHeader } from './ustar-header.js';

const HIGH_WATER = 1 << 20;
/** End of archive: two zero blocks. */
const END_BLOCKS = 2 * BLOCK;

export interface LayerWriterProgress {
  bytes: number;
  entries: number;
}

export interface LayerWriterOptions {
  signal?: AbortSignal;
  onProgress?: (p: LayerWriterProgress) => void;
}

/** `write(entry)`: a promise to await only when the consumer is behind (undefined otherwise). */
export type WriteEntry = (entry: LayerEntry) => Promise<void> | undefined;
export type Produce = (write: WriteEntry) => Promise<void>;

/** Runs `produce` and returns the tar as a Node Readable; throwing ends the stream with that error. */
export function layerStream(produce: Produce, options: LayerWriterOptions = {}): Readable {
  let sink: ReadableSink | undefined;
  const out = new Readable({
    highWaterMark: HIGH_WATER,
    read() {
      sink?.read();
    },
  });
  sink = new ReadableSink(out);
  const w = new TarBuffer(sink);
  produce(entryWriter(w, options, () => out.destroyed))
    .then(() => {
      finish(w);
      out.push(null);
    })
    .catch((err: unknown) => {
      if (!out.destroyed) out.destroy(err as Error);
    });
  return out;
}

/** Runs `produce` writing the tar to `fd`; resolves with the totals once all of it is written. */
export async function layerToFd(
  produce: Produce,
  fd: number,
  options: LayerWriterOptions = {},
): Promise<LayerWriterProgress> {
  const sink = new FdSink(fd);
  const w = new TarBuffer(sink);
  let entries = 0;
  const write = entryWriter(w, options, () => false);
  try {
    await produce((entry) => {
      entries++;
      return write(entry);
    });
    finish(w);
  } catch (err) {
    await sink.drain().catch(() => {}); // the first failure is the one to report
    throw err;
  }
  await sink.drain();
  return { bytes: w.bytes, entries };
}

function finish(w: TarBuffer): void {
  w.zeros(END_BLOCKS);
  w.flush();
}

function entryWriter(w: TarBuffer, options: LayerWriterOptions, destroyed: () => boolean): WriteEntry {
  let entries = 0;
  return (entry) => {
    if (destroyed()) throw new Error('layer stream destroyed');
    options.signal?.throwIfAborted();
    const pending = writeEntry(w, entry);
    const report = () => {
      entries++;
      options.onProgress?.({ bytes: w.bytes, entries });
      return w.wait();
    };
    return pending ? pending.then(report) : report();
  };
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/** Header(s) and content of one entry; a promise only when a big file had to wait for the consumer. */
function writeEntry(w: TarBuffer, entry: LayerEntry): Promise<void> | undefined {
  const fullName = entry.type === 'directory' ? `${entry.name}/` : entry.name;
  const pax = paxRecords(entry, fullName);
  const hasBody = entry.type === 'file' && entry.size > 0 && entry.source !== undefined;
  const uid = clampOctal(entry.uid, 'id');
  const gid = clampOctal(entry.gid, 'id');
  const mtime = clampOctal(entry.mtime.sec, 'time');
  if (pax) {
    header(w, { name: 'PaxHeader', type: 'pax-header', mode: 0o644, uid, gid, size: pax.length, mtime });
    w.copyFrom(pax);
    w.zeros(padding(pax.length));
  }
  header(w, {
    name: pax ? ustarFallbackName(fullName) : fullName,
    type: entry.type,
    mode: entry.mode,
    uid,
    gid,
    size: hasBody ? entry.size : 0,
    mtime,
    linkname: entry.linkname !== undefined && pax ? ustarFallbackLink(entry.linkname) : entry.linkname,
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  });
  if (!hasBody) return undefined;
  const fd = openSync(entry.source!, constants.O_RDONLY | constants.O_NOFOLLOW);
  let closeNow = true;
  try {
    if (entry.size + padding(entry.size) <= BUFFER_SIZE) {
      w.room(entry.size);
      readInto(w, fd, entry.size, 0);
      w.zeros(padding(entry.size));
      return undefined;
    }
    closeNow = false;
    return streamContent(w, fd, entry.size).finally(() => closeSync(fd));
  } finally {
    if (closeNow) closeSync(fd);
  }
}

function header(
  w: TarBuffer,
  fields: Omit<Parameters<typeof writeUstarHeader>[2], 'devmajor' | 'devminor'> & {
    devmajor?: number;
    devminor?: number;
  },
): void {
  w.room(BLOCK);
  if (!writeUstarHeader(w.buf, w.pos, { devmajor: 0, devminor: 0, ...fields })) {
    throw new Error(`internal: '${fields.name}' does not fit a ustar header and has no PAX path`);
  }
  w.advance(BLOCK);
}

/**
 * Reads `size` bytes of `fd` from `position` into the output buffer, which has room for them; a file
 * that shrank since it was stat-ed is padded with zeros (GNU tar's behaviour), one that grew is cut:
 * the header already promised `size`.
 */
function readInto(w: TarBuffer, fd: number, size: number, position: number): void {
  let got = 0;
  while (got < size) {
    const n = readSync(fd, w.buf, w.pos, size - got, position + got);
    if (n === 0) break;
    w.advance(n);
    got += n;
  }
  if (got < size) w.zeros(size - got);
}

/** A big file, buffer by buffer, waiting for the consumer whenever it falls behind. */
async function streamContent(w: TarBuffer, fd: number, size: number): Promise<void> {
  for (let pos = 0; pos < size; ) {
    if (w.pos === w.buf.length) w.flush();
    const n = Math.min(size - pos, w.buf.length - w.pos);
    readInto(w, fd, n, pos);
    pos += n;
    const wait = w.wait();
    if (wait) await wait;
  }
  w.zeros(padding(size));
}
