/**
 * `apply(layer, target, options)`: unpacks a layer tarball (plain, gzip or zstd) into `target`.
 * tar-stream parses; `EntryWriter` writes each entry with a handful of synchronous calls; the stream
 * is consumed chunk by chunk, so memory stays flat whatever the layer's size.
 */
import { opendirSync, realpathSync, statSync } from 'node:fs';
import { extract as createExtract, type Extract, type Header } from 'tar-stream';
import { decompress } from '../decompress.js';
import { TarError } from '../errors.js';
import { useBodySinks } from './body-sink.js';
import { applyEntry, type EntryBody } from './entry.js';
import { drained } from './file-feed.js';
import { type LayerInput, type LayerSource, openLayerSource } from './layer-source.js';
import type { ApplyOptions, ApplyResult, WhiteoutFormat } from './options.js';
import { parsePaxRecords } from './pax.js';
import { type ApplySyscalls, nativeApplySyscalls } from './syscalls.js';
import { defaultThreadCount, WriteThreads } from './write-threads.js';
import { EntryWriter } from './writer.js';

const FORMATS = new Set(['overlay', 'aufs', 'flatten']);
const PROGRESS_BYTES = 1 << 20;
/**
 * When writer threads start without being asked for: at the 1000th entry, if the entries so far average
 * under 6 KiB of tar each. They pay off where system calls per file dominate (100,000 small files:
 * 1.6× GNU tar's time on one thread, ~1.1× with two writers), not where bytes do: on a rootfs
 * (8.5 KiB per entry in its first 1000, 29 KiB overall) the main thread's copy of every body into the ring and the workers' start-up made
 * it slower (0.63–0.69 s against 0.49–0.50 s). A small layer never pays their start-up; a pool, once
 * started, serves every later apply of the process.
 */
const THREADS_AT_ENTRIES = 1000;
const THREADS_MAX_MEAN_ENTRY = 6 << 10;

export async function apply(
  layer: LayerInput,
  target: string,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return applyWith(nativeApplySyscalls, layer, target, options);
}

/** `apply` with the syscalls given (tests use it to record or fail them). */
export async function applyWith(
  sys: ApplySyscalls,
  layer: LayerInput,
  target: string,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const format = options.format ?? 'flatten';
  if (!FORMATS.has(format)) {
    throw new TarError(
      'ERR_OVL_BAD_SOURCE',
      `unknown format '${format}': use 'overlay', 'aufs' or 'flatten'`,
    );
  }
  let root: string;
  try {
    root = realpathSync(target);
    if (!statSync(root).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (cause) {
    throw new TarError('ERR_OVL_BAD_SOURCE', `apply target '${target}' must be an existing directory`, {
      path: target,
      cause,
    });
  }
  const signal = options.signal;
  if (signal?.aborted) throw aborted(signal);

  const source = openLayerSource(layer);
  try {
    return await applySource(sys, source, root, format, options);
  } finally {
    source.close();
  }
}

async function applySource(
  sys: ApplySyscalls,
  source: LayerSource,
  root: string,
  format: WhiteoutFormat,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const signal = options.signal;
  const feed = source.kind === 'file' ? source.feed : undefined;
  const asked = options.threads ?? threadsFromEnv();
  // Threads make their own calls: with syscalls given (tests recording or failing them), none.
  const threadCount = sys !== nativeApplySyscalls ? 0 : (asked ?? defaultThreadCount());
  let threads: WriteThreads | undefined;
  if (threadCount > 0 && asked !== undefined) {
    // Asked for: the threads take part from the first entry. (Awaited before the input is opened, so
    // that no input error can fire while nobody listens.)
    threads = WriteThreads.open(threadCount);
    await threads?.whenReady();
  }
  let compression: string;
  let stream: Awaited<ReturnType<typeof decompress>>['stream'] | undefined;
  let chunks: AsyncIterable<Uint8Array> | undefined;
  try {
    if (source.kind === 'file') compression = 'none';
    else {
      const file = source.file;
      ({ compression, stream, chunks } = await decompress(source.stream, { zstd: options.zstd, file }));
    }
  } catch (err) {
    threads?.abort();
    throw err;
  }
  const writer = new EntryWriter(root, { ...options, format }, sys, isEmptyDir(root));
  writer.threads = threads;
  if (feed) {
    writer.layerFd = feed.fd;
    writer.layerSize = feed.size;
  }
  const startThreads = () => {
    writer.threads ??= WriteThreads.open(threadCount);
    writer.threadsTakeAll = true;
  };
  if (threadCount > 0) {
    writer.wantThreads = () => {
      writer.threads = WriteThreads.open(threadCount);
      writer.threadsTakeAll = false;
    };
  }
  // A 1 MiB write buffer: with tar-stream's default (16 KiB) every 64 KiB chunk waits for a 'drain'.
  const extract = createExtract({ highWaterMark: 1 << 20 } as never);
  const pax = hookRawPax(extract);
  // Bodies straight to the entry's listeners, not through a stream per entry (body-sink.ts). Their
  // `end` then comes from inside tar-stream's parse loop, so `next` is never called from there (below).
  // (OVL_APPLY_BODY_STREAMS=1 keeps tar-stream's streams: tests, and a way out should the hook misfire.)
  if (process.env.OVL_APPLY_BODY_STREAMS !== '1') useBodySinks(extract);
  // tar-stream's `next` for a finished entry. Called where the entry finished, it would re-enter the
  // parse loop, one stack level per entry. A microtask per entry keeps the stack flat but costs
  // (~0.5 µs each in a fresh process: 100,000 entries, 100,000 microtasks). So one microtask runs
  // `next`s in a loop, and every entry that finishes inside that loop leaves its `next` for the loop.
  let pendingNext: (() => void) | undefined;
  let driving = false;
  const drive = () => {
    driving = true;
    try {
      while (pendingNext !== undefined) {
        const next = pendingNext;
        pendingNext = undefined;
        next();
      }
    } finally {
      driving = false;
    }
  };
  const resume = (next: () => void) => {
    pendingNext = next;
    if (!driving) queueMicrotask(drive);
  };
  const onProgress = options.onProgress;
  let bytes = 0;
  let entries = 0;
  let contentBytes = 0;
  let sinceProgress = 0;
  let lastEntry: string | undefined;
  const onContent = (n: number) => {
    contentBytes += n;
    sinceProgress += n;
    if (onProgress && sinceProgress >= PROGRESS_BYTES) {
      sinceProgress = 0;
      onProgress({ bytes, entries });
    }
  };

  await new Promise<void>((resolve, reject) => {
    let failure: unknown;
    const fail = (err: unknown) => {
      if (failure !== undefined) return;
      failure = toTarError(err, lastEntry);
      writer.abort();
      signal?.removeEventListener('abort', onAbort);
      stream?.destroy();
      extract.destroy();
      reject(failure);
    };
    const onAbort = () => fail(aborted(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });

    extract.on('entry', (header: Header, body, next: () => void) => {
      if (failure !== undefined) return;
      lastEntry = header.name;
      if (entries === THREADS_AT_ENTRIES && threadCount > 0 && !(writer.threads && writer.threadsTakeAll)) {
        if (bytes / entries < THREADS_MAX_MEAN_ENTRY) startThreads();
      }
      const records = pax.take(header);
      // Stream offset of this entry's body; the header and all before it are consumed (file-feed.ts).
      const bodyOffset = (header as { byteOffset?: unknown }).byteOffset;
      if (feed && typeof bodyOffset === 'number') feed.release(bodyOffset);
      const done = (err?: unknown) => {
        if (err !== undefined) return fail(err);
        // tar-stream streams a body for every type but directories; by now all of it was delivered.
        if (feed && typeof bodyOffset === 'number')
          feed.release(bodyOffset + (header.type === 'directory' ? 0 : (header.size ?? 0)));
        entries++;
        onProgress?.({ bytes, entries });
        resume(next);
      };
      try {
        const bypass =
          feed && (header.type === 'file' || header.type === 'contiguous-file')
            ? () => feed.bypass(bodyOffset, header.size ?? 0)
            : undefined;
        // Stream offsets are layer-file offsets (bypassed bytes are fed as as many zeros).
        const after =
          bypass && typeof bodyOffset === 'number' ? feed!.size - bodyOffset - (header.size ?? 0) : 0;
        applyEntry(
          writer,
          header,
          records,
          body as unknown as EntryBody,
          options,
          onContent,
          done,
          bypass,
          after,
        );
      } catch (err) {
        fail(err);
      }
    });
    extract.on('error', fail);
    stream?.on('error', fail);
    extract.on('finish', () => {
      if (failure !== undefined) return;
      try {
        writer.finishDirectories();
        writer.threads?.end();
      } catch (err) {
        return fail(err);
      }
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    const count = (n: number) => {
      bytes += n;
    };
    (feed ? feed.run(extract, count) : feedStream(chunks!, extract, count)).catch(fail);
  });
  return {
    bytes,
    entries,
    contentBytes,
    compression: compression as ApplyResult['compression'],
    warnings: writer.warnings,
    threadedFiles: writer.threads?.files ?? 0,
  };
}

/**
 * Writes the plain tar bytes into tar-stream's extractor, honouring its backpressure. (Node's `pipe`
 * into a streamx Writable stalls on streams of many tiny chunks; a plain loop does not.)
 */
async function feedStream(
  source: AsyncIterable<Uint8Array>,
  extract: Extract,
  count: (n: number) => void,
): Promise<void> {
  for await (const chunk of source) {
    if (extract.destroyed) return;
    count((chunk as Uint8Array).length);
    if (!extract.write(chunk)) await drained(extract);
  }
  if (!extract.destroyed) extract.end(undefined as never);
}

/** OVL_APPLY_THREADS, when set: the `threads` option's value for callers that give none (tests, tuning). */
function threadsFromEnv(): number | undefined {
  const v = process.env.OVL_APPLY_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** True when `dir` has no entries (then every file of the layer lands where nothing else is). */
function isEmptyDir(dir: string): boolean {
  try {
    const d = opendirSync(dir, { bufferSize: 1 });
    try {
      return d.readSync() === null;
    } finally {
      d.closeSync();
    }
  } catch {
    return false;
  }
}

function aborted(signal: AbortSignal): TarError {
  return new TarError('ERR_OVL_ABORTED', 'apply was aborted; the target holds a partly applied layer', {
    cause: signal.reason,
  });
}

function toTarError(err: unknown, lastEntry: string | undefined): TarError {
  if (err instanceof TarError) return err;
  const msg = (err as Error)?.message ?? String(err);
  const where = lastEntry === undefined ? 'before the first entry' : `after entry '${lastEntry}'`;
  return new TarError(
    'ERR_OVL_BAD_TAR',
    `the layer is not a valid tar stream (${msg}) ${where}; it is truncated, corrupt or not a tar`,
    { entry: lastEntry, cause: err },
  );
}

const XATTR_KEY = Buffer.from('xattr.');

/** Whether a raw PAX block may hold an xattr record (`SCHILY.xattr.`, `LIBARCHIVE.xattr.`). */
function hasXattrRecord(buf: Uint8Array): boolean {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).indexOf(XATTR_KEY) >= 0;
}

/**
 * Keeps the raw bytes of each PAX header block that holds xattrs (tar-stream decodes them as UTF-8, losing binary xattr
 * values). Relies on tar-stream 3's `_decodeLongHeader`; without it we fall back to the decoded values.
 * `take` gives undefined for a block without xattrs: then the header's decoded `pax` holds the values.
 */
function hookRawPax(extract: object) {
  const ex = extract as {
    _header?: { type?: string };
    _decodeLongHeader?: (buf: Uint8Array) => void;
  };
  let local: Map<string, Buffer> | undefined;
  let global: Map<string, Buffer> | undefined;
  const orig = ex._decodeLongHeader;
  const hooked = typeof orig === 'function';
  if (hooked) {
    ex._decodeLongHeader = function (this: typeof ex, buf: Uint8Array) {
      const type = this._header?.type;
      if (type === 'pax-header') {
        // Without xattrs (and no global header to merge), tar-stream's decoded strings are the values:
        // times and ids are ASCII. Most PAX headers are GNU tar's atime/ctime on every entry.
        local =
          global === undefined && !hasXattrRecord(buf)
            ? undefined
            : parsePaxRecords(buf, global ? new Map(global) : new Map());
      } else if (type === 'pax-global-header') global = parsePaxRecords(buf, new Map(global));
      return orig.call(this, buf);
    };
  }
  return {
    take(header: Header): Map<string, Buffer> | undefined {
      if (!hooked) {
        if (!header.pax) return undefined;
        return new Map(Object.entries(header.pax).map(([k, v]) => [k, Buffer.from(String(v))]));
      }
      const r = header.pax ? (local ?? global) : global;
      local = undefined;
      return r;
    },
  };
}
