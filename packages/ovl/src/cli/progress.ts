// Progress for long work: a redrawn bar on a terminal, plain lines when output is piped or logged,
// JSON lines with --json. Progress goes to stderr so stdout stays for results (`ovl diff > x.tar`).
import type { LayerProgress } from '../unpack.js';
import { humanBytes } from './format.js';

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export function progressMode(json: boolean, quiet: boolean, stream = process.stderr): ProgressMode {
  if (quiet) return 'quiet';
  if (json) return 'json';
  return stream.isTTY ? 'tty' : 'plain';
}

/** Streams with a redrawn bar on their current line, so an error printed next starts on a line of its own. */
const openBars = new Set<NodeJS.WriteStream>();

/** Ends a half-drawn progress bar with a newline (before an error message, say). */
export function endProgressLine(stream: NodeJS.WriteStream = process.stderr): void {
  if (openBars.delete(stream)) stream.write('\n');
}

export function layerReporter(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr) {
  let started = 0;
  return (p: LayerProgress) => {
    const label = `layer ${p.index + 1}/${p.layers} ${p.id.slice(0, 12)}`;
    if (p.phase === 'start') started = Date.now();
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = `${humanBytes(p.bytes / secs)}/s`;
    switch (mode) {
      case 'quiet':
        return;
      case 'json':
        stream.write(`${JSON.stringify({ event: 'layer', ...p })}\n`);
        return;
      case 'plain':
        if (p.phase === 'reused') stream.write(`${label}: already in the store, reused\n`);
        else if (p.phase === 'start') stream.write(`${label}: unpacking\n`);
        else if (p.phase === 'done')
          stream.write(`${label}: done, ${humanBytes(p.bytes)} in ${secs.toFixed(2)} s (${rate})\n`);
        return;
      case 'tty': {
        const done = p.phase === 'done' || p.phase === 'reused';
        const width = 24;
        const filled = Math.round(((p.index + (done ? 1 : 0.5)) / p.layers) * width);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
        const what = p.phase === 'reused' ? 'reused' : `${humanBytes(p.bytes)} ${rate}`;
        stream.write(`\r\x1b[K${bar} ${label} ${what}`);
        openBars.add(stream);
        if (done && p.index + 1 === p.layers) endProgressLine(stream);
      }
    }
  };
}
