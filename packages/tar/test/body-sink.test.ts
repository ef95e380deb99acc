// Entry bodies handed to the apply's listeners without a stream per entry (src/apply/body-sink.ts):
// tar-stream's own extractor takes the hook, every body arrives whole and in order at any chunking,
// a cut tar never ends a body, and apply writes the same tree either way.
import { createHash } from 'node:crypto';
import { extract as createExtract, type Header } from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { useBodySinks } from '../src/apply/body-sink.js';
import { apply, type TarError } from '../src/index.js';
import { buildTar, streamOf, type TestEntry } from './fixtures/layer-tar.js';
import { describeTree, diffTrees, removeDir, tempDir } from './fixtures/tree.js';

const Sink = suite('apply: entry bodies without a stream per entry');

/** Bytes that differ at every offset modulo 251, so a shifted or repeated slice cannot pass. */
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i + seed) % 251));

const entries: TestEntry[] = [
  { name: 'd', type: 'directory' },
  { name: 'd/empty', content: '' },
  { name: 'd/one', content: 'x' },
  { name: 'd/511', content: bytes(511, 1) },
  { name: 'd/512', content: bytes(512, 2) },
  { name: 'd/513', content: bytes(513, 3) },
  { name: 'd/big', content: bytes(3 << 20, 4) },
  { name: 'd/link', type: 'symlink', linkname: 'one' },
  { name: `d/${'long-'.repeat(40)}name`, content: bytes(70_000, 5) },
  { name: 'd/hard', type: 'link', linkname: 'd/513' },
  { name: 'd/last', content: bytes(1000, 6) },
];

interface Seen {
  name: string;
  type: string;
  sha: string;
  length: number;
}

/** Parses `tar` fed in `chunk`-byte writes and records each entry's body as its listeners saw it. */
async function parse(tar: Buffer, chunk: number, sinks: boolean): Promise<Seen[]> {
  const ex = createExtract();
  if (sinks) assert.ok(useBodySinks(ex), "tar-stream's extractor takes the sinks");
  const seen: Seen[] = [];
  ex.on('entry', (header: Header, body, next: () => void) => {
    const hash = createHash('sha256');
    let length = 0;
    const end = () => {
      seen.push({ name: header.name, type: header.type ?? '', sha: hash.digest('hex'), length });
      queueMicrotask(next); // as apply does: never re-enter the parse loop from inside it
    };
    if (!(header.size! > 0) || header.type === 'directory') return end();
    body.on('data', (c) => {
      hash.update(c as Uint8Array);
      length += (c as Uint8Array).length;
    });
    body.on('end', end);
    body.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  for (let i = 0; i < tar.length; i += chunk) {
    if (!ex.write(tar.subarray(i, i + chunk))) await new Promise<void>((r) => ex.once('drain', () => r()));
  }
  ex.end(undefined as never);
  await done;
  return seen;
}

Sink(
  'every body reaches its listeners whole and in order, at any chunking, as through the streams',
  async () => {
    const tar = await buildTar(entries);
    const want = await parse(tar, 64 * 1024, false);
    assert.is(want.length, entries.length);
    const big = want.find((e) => e.name === 'd/big')!;
    assert.is(big.length, 3 << 20);
    assert.is(
      big.sha,
      createHash('sha256')
        .update(bytes(3 << 20, 4))
        .digest('hex'),
    );
    for (const chunk of [7, 512, 3000, 64 * 1024, tar.length]) {
      assert.equal(await parse(tar, chunk, true), want, `chunks of ${chunk} bytes`);
    }
  },
);

Sink('a tar cut inside a body: the extractor fails and the body never ends', async () => {
  const tar = await buildTar([{ name: 'a', content: bytes(10_000, 7) }]);
  const ex = createExtract();
  assert.ok(useBodySinks(ex));
  let got = 0;
  let ended = false;
  ex.on('entry', (_h: Header, body) => {
    body.on('data', (c) => {
      got += (c as Uint8Array).length;
    });
    body.on('end', () => {
      ended = true;
    });
  });
  const failed = new Promise<Error>((resolve) => ex.on('error', resolve));
  ex.write(tar.subarray(0, 512 + 4000));
  ex.end(undefined as never);
  assert.match((await failed).message, /Unexpected end of data/);
  assert.is(got, 4000);
  assert.is(ended, false);
});

Sink("an extractor without tar-stream 3's internals keeps its streams", () => {
  const other = { _createStream: undefined, on() {} };
  assert.is(useBodySinks(other as never), false);
  assert.is(other._createStream, undefined);
});

Sink(
  'apply writes the same tree with body sinks as with tar-stream streams (OVL_APPLY_BODY_STREAMS=1)',
  async () => {
    const tar = await buildTar([
      ...entries,
      { name: 'd/.wh.one' },
      { name: 'e', type: 'directory' },
      { name: 'e/.wh..wh..opq' },
    ]);
    const outs: string[] = [];
    try {
      for (const streams of ['', '1']) {
        const out = tempDir(`sink-${streams || 'none'}`);
        outs.push(out);
        process.env.OVL_APPLY_BODY_STREAMS = streams;
        const r = await apply(streamOf(tar, 3000), out, { format: 'overlay' });
        assert.is(r.entries, entries.length + 3);
        assert.is(r.contentBytes, (3 << 20) + 70_000 + 511 + 512 + 513 + 1000 + 1);
      }
      const [withSinks, withStreams] = outs.map((o) =>
        describeTree(o!, { mtimes: true, skipRootMeta: true }),
      );
      assert.equal(diffTrees(withSinks!, withStreams!), []);
      assert.is(withSinks!['d/big']!.size, 3 << 20);
      assert.is(withSinks!['d/one']!.type, 'char', 'the whiteout of d/one');
      assert.ok(withSinks!.e!.xattrs?.['trusted.overlay.opaque'], 'e is opaque');
    } finally {
      delete process.env.OVL_APPLY_BODY_STREAMS;
      for (const o of outs) removeDir(o);
    }
  },
);

Sink(
  '20,000 entries parsed from one write: the stack stays flat (no next from inside the parse loop)',
  async () => {
    const many: TestEntry[] = Array.from({ length: 20_000 }, (_, i) => ({ name: `m/${i}`, content: `${i}` }));
    const tar = await buildTar(many);
    const out = tempDir('sink-many');
    try {
      const r = await apply(streamOf(tar, tar.length), out);
      assert.is(r.entries, 20_000);
      assert.is(describeTree(out)['m/19999']!.size, 5);
    } catch (err) {
      assert.unreachable(`apply failed: ${(err as TarError).message}`);
    } finally {
      removeDir(out);
    }
  },
);

Sink.run();
