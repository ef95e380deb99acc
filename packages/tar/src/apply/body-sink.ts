/**
 * Entry bodies handed over without a stream per entry.
 *
 * tar-stream gives every entry a streamx `Readable` for its body, even a directory's, and delivers the
 * body through it: the slices are queued, `data` and `end` are emitted on a later tick, listeners are
 * registered and removed through EventEmitter. The apply writes each slice the moment it has it and
 * never needs the stream's queue or back-pressure, so that machinery is pure cost: parsing the rootfs
 * layer with the same body listeners took ~240 ms in a fresh process and ~205 ms with the bodies
 * delivered straight to the listeners (medians of 5, nothing written).
 *
 * `useBodySinks` replaces the extractor's `_createStream` (tar-stream 3's factory for those streams) by
 * one that returns a `BodySink`: tar-stream still parses every header and cuts every body into the same
 * slices, and hands them to the sink's `push` as it would to the stream. The sink calls the entry's
 * `data` listener right away and its `end` listener when tar-stream pushes the end. An extractor
 * without the expected internals keeps its streams: `EntryBody` is the subset both provide.
 */
import type { Extract } from 'tar-stream';
import type { EntryBody } from './entry.js';

/** What tar-stream 3's extractor keeps of the current body and calls `_createStream` for. */
interface ExtractInternals {
  _createStream?: () => unknown;
  _update?: () => void;
  _stream: unknown;
  _missing: number;
  _header: { size?: number } | null;
}

/**
 * A body as tar-stream pushes it: `push(slice)` for each slice, `push(null)` at its end. The entry's
 * listeners run inside tar-stream's parse loop, so the `end` listener must not resume the parse there
 * (apply defers tar-stream's `next`).
 */
export class BodySink implements EntryBody {
  private onData: ((chunk: Uint8Array) => void) | undefined;
  private onEnd: (() => void) | undefined;
  private ended = false;
  private destroyed = false;

  constructor(
    private readonly parent: ExtractInternals,
    /** The entry's body size, for the padding tar-stream skips after it. */
    private readonly size: number,
  ) {}

  on(event: 'data', fn: (chunk: Uint8Array) => void): this;
  on(event: 'end' | 'error', fn: (err?: unknown) => void): this;
  on(event: 'data' | 'end' | 'error', fn: (arg: never) => void): this {
    if (event === 'data') this.onData = fn as (chunk: Uint8Array) => void;
    else if (event === 'end') this.onEnd = fn as () => void;
    // 'error': a body fails only when the whole extractor does, and apply listens to the extractor.
    return this;
  }

  resume(): this {
    return this;
  }

  /** tar-stream's side: a slice of the body, or null at its end. Always accepted (no back-pressure). */
  push(chunk: Uint8Array | null): boolean {
    if (this.destroyed || this.ended) return true;
    if (chunk === null) {
      this.ended = true;
      this.onEnd?.();
    } else this.onData?.(chunk);
    return true;
  }

  /** tar-stream's side, once the body is fully pushed: the parser skips the padding and goes on. */
  _detach(): void {
    const parent = this.parent;
    if (parent._stream !== this) return;
    parent._stream = null;
    const tail = this.size & 511;
    parent._missing = tail && 512 - tail;
    parent._update?.();
  }

  /** tar-stream's side when the extractor is destroyed mid-body: nothing more is delivered. */
  destroy(): void {
    this.destroyed = true;
  }
}

/**
 * Makes `extract` hand out `BodySink`s instead of streams. Returns false (and changes nothing) when the
 * extractor lacks the tar-stream 3 internals this relies on.
 */
export function useBodySinks(extract: Extract): boolean {
  const ex = extract as unknown as ExtractInternals;
  if (
    typeof ex._createStream !== 'function' ||
    typeof ex._update !== 'function' ||
    !('_stream' in ex) ||
    typeof ex._missing !== 'number' ||
    !('_header' in ex)
  ) {
    return false;
  }
  ex._createStream = function (this: ExtractInternals) {
    return new BodySink(this, this._header?.size ?? 0);
  };
  return true;
}
