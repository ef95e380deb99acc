// The `zstd -dc` child: its output comes through a 1 MiB pipe read on the libuv pool (one child at a
// time; others through Node's socketpair), and every way an apply ends leaves no descriptor, no child
// and no pipe reader behind.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { zstdPipeReaders } from '../src/decompress.js';
import { apply, type TarError, zstdBinaryPath } from '../src/index.js';
import { buildTar } from './fixtures/layer-tar.js';
import { removeDir, tempDir } from './fixtures/tree.js';

const Zstd = suite('apply: zstd through the zstd binary');
const haveZstd = zstdBinaryPath() !== undefined;
/**
 * This process's open descriptors, each as `fd target`. Compared as sets, not counted: other suites'
 * worker threads may still be closing theirs while this one runs.
 */
function openFds(): Set<string> {
  const held = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (!target.startsWith('/proc/')) held.add(`${fd} ${target}`); // not the listing's own
    } catch {
      // closed between the listing and the readlink
    }
  }
  return held;
}

/** Descriptors open now that were not in `baseline`. */
const newFds = (baseline: Set<string>) => [...openFds()].filter((fd) => !baseline.has(fd));

/**
 * Open descriptors once the streams have closed: a stream's descriptor (the pipe's read end, the test's
 * own ReadStream) is closed asynchronously, just after its end. Waits up to 2 s for none beyond `baseline`.
 */
async function settledFds(baseline: Set<string>): Promise<string[]> {
  for (let i = 0; i < 100 && (zstdPipeReaders() !== 0 || newFds(baseline).length > 0); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return newFds(baseline);
}

// 3 MiB of content in 24 files: several pipe-fulls, so reads wait on zstd and zstd on the reader.
const entries = Array.from({ length: 24 }, (_, i) => ({
  name: `d${i % 3}/f${i}`,
  content: Buffer.alloc(128 << 10, i + 1),
}));

async function zstdLayer(dir: string): Promise<{ file: string; tar: Buffer }> {
  const tar = await buildTar(entries);
  const file = join(dir, 'layer.tar.zst');
  writeFileSync(file, execFileSync('zstd', ['-q', '-1', '-c'], { input: tar, maxBuffer: 1 << 28 }));
  return { file, tar };
}

function assertTree(out: string): void {
  for (const e of entries) {
    const got = readFileSync(join(out, e.name));
    assert.ok(got.equals(e.content), `${e.name}: content`);
  }
}

Zstd(
  'a zstd layer file and a zstd stream give the tree; the pipe reader is released after each',
  async () => {
    if (!haveZstd) return console.log('  skip: no zstd binary on PATH');
    const dir = tempDir('zstd');
    try {
      const { file, tar } = await zstdLayer(dir);
      const fds = openFds();
      for (const input of [file, createReadStream(file, { highWaterMark: 7000 })]) {
        const out = tempDir('zstd-out');
        try {
          const r = await apply(input, out, { zstd: 'binary' });
          assert.is(r.compression, 'zstd');
          assert.is(r.bytes, tar.length);
          assertTree(out);
          assert.is(zstdPipeReaders(), 0, 'pipe reader released');
        } finally {
          removeDir(out);
        }
      }
      assert.equal(await settledFds(fds), [], 'no descriptor left open');
    } finally {
      removeDir(dir);
    }
  },
);

Zstd(
  "a caller's descriptor of a zstd layer: applied through the stream, its file position unmoved",
  async () => {
    if (!haveZstd) return console.log('  skip: no zstd binary on PATH');
    // zstd reads a layer file apply opened itself as its stdin (which moves the file position); a
    // descriptor the caller owns is read only with positional reads, as for plain layers.
    const dir = tempDir('zstd-fd');
    const out = tempDir('zstd-fd-out');
    try {
      const { file, tar } = await zstdLayer(dir);
      const fd = openSync(file, 'r');
      try {
        const r = await apply(fd, out, { zstd: 'binary' });
        assert.is(r.bytes, tar.length);
        assertTree(out);
        const head = Buffer.alloc(4);
        assert.is(readSync(fd, head, 0, 4, null), 4, 'still at offset 0');
        assert.equal([...head], [0x28, 0xb5, 0x2f, 0xfd]);
      } finally {
        closeSync(fd);
      }
    } finally {
      removeDir(out);
      removeDir(dir);
    }
  },
);

Zstd('six zstd applies at once, inputs read on the libuv pool too, all finish with their trees', async () => {
  if (!haveZstd) return console.log('  skip: no zstd binary on PATH');
  // One child reads through the pipe (a pool thread waiting on it), the others through the socketpair;
  // with every pool thread (4) waiting on a pipe the ReadStreams feeding zstd could not read: a hang.
  const dir = tempDir('zstd-many');
  const outs = Array.from({ length: 6 }, (_, i) => tempDir(`zstd-many-${i}`));
  try {
    const { file } = await zstdLayer(dir);
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('concurrent zstd applies hung')), 30_000);
    });
    const all = Promise.all(
      outs.map((out) => apply(createReadStream(file, { highWaterMark: 16 << 10 }), out, { zstd: 'binary' })),
    );
    try {
      await Promise.race([all, hang]);
    } finally {
      clearTimeout(timer);
    }
    for (const out of outs) assertTree(out);
    assert.is(zstdPipeReaders(), 0);
  } finally {
    for (const out of outs) removeDir(out);
    removeDir(dir);
  }
});

Zstd('corrupt, truncated and aborted zstd layers: a typed error, and nothing left behind', async () => {
  if (!haveZstd) return console.log('  skip: no zstd binary on PATH');
  const dir = tempDir('zstd-bad');
  try {
    const { file } = await zstdLayer(dir);
    const bytes = readFileSync(file);
    const truncated = join(dir, 'truncated.tar.zst');
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    const corrupt = join(dir, 'corrupt.tar.zst');
    const flipped = Buffer.from(bytes);
    for (let i = 64; i < flipped.length; i += 997) flipped[i]! ^= 0x5a;
    writeFileSync(corrupt, flipped);
    const fds = openFds();
    for (const [what, layer] of [
      ['truncated', truncated],
      ['corrupt', corrupt],
    ] as const) {
      const out = tempDir('zstd-bad-out');
      try {
        await apply(layer, out, { zstd: 'binary' });
        assert.unreachable(`${what}: applied`);
      } catch (err) {
        assert.is((err as TarError).code, 'ERR_OVL_BAD_TAR', `${what}: ${(err as Error).message}`);
      } finally {
        removeDir(out);
      }
    }
    const out = tempDir('zstd-abort-out');
    try {
      const ac = new AbortController();
      const p = apply(file, out, {
        zstd: 'binary',
        signal: ac.signal,
        onProgress: (pr) => {
          if (pr.entries === 3) ac.abort();
        },
      });
      await p.then(
        () => assert.unreachable('not aborted'),
        (err: TarError) => assert.is(err.code, 'ERR_OVL_ABORTED'),
      );
    } finally {
      removeDir(out);
    }
    // The reader's close and zstd's exit come after the rejection.
    assert.equal(await settledFds(fds), [], 'no descriptor left open');
    assert.is(zstdPipeReaders(), 0, 'pipe reader released');
  } finally {
    removeDir(dir);
  }
});

Zstd.run();
