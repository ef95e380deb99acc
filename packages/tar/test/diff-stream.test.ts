// diff() as a stream: progress callbacks, abort, and back-pressure (nothing read ahead without limit).
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diff } from '../src/index.js';
import { build, collect, rmTree, tempDir } from './diff-helpers.js';

const stream = suite('diff: streaming');
let dir = '';

stream.before(() => {
  dir = tempDir('ds');
  const spec: Record<string, string> = {};
  for (let i = 0; i < 300; i++) spec[`d${i % 10}/f${i}`] = 'x'.repeat(30_000);
  build(dir, spec);
});
stream.after(() => rmTree(dir));

stream('onProgress reports growing byte and entry counts ending at the totals', async () => {
  const seen: Array<{ bytes: number; entries: number }> = [];
  const tar = await collect(diff({ upper: dir }, { onProgress: (p) => seen.push(p) }));
  assert.is(seen.length, 310);
  assert.is(seen.at(-1)?.entries, 310);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytes >= seen[i - 1]!.bytes);
  assert.ok(seen.at(-1)!.bytes <= tar.length && seen.at(-1)!.bytes > 300 * 30_000);
});

stream('an aborted signal ends the stream with an AbortError', async () => {
  const ac = new AbortController();
  const s = diff({ upper: dir }, { signal: ac.signal, onProgress: (p) => p.entries === 20 && ac.abort() });
  const err = await collect(s).catch((e: unknown) => e);
  assert.is((err as Error).name, 'AbortError');
});

stream('a consumer that stops reading stops the walk (back-pressure)', async () => {
  let entries = 0;
  const s = diff(
    { upper: dir },
    {
      onProgress: (p) => {
        entries = p.entries;
      },
    },
  );
  await sleep(200);
  // 300 files of 30 kB = ~9 MB of tar; without a reader only a few MiB of buffers fill up.
  assert.ok(entries < 310, `produced ${entries} entries with no reader`);
  const tar = await collect(s);
  assert.ok(tar.length > 300 * 30_000);
  assert.is(entries, 310);
});

stream.run();
