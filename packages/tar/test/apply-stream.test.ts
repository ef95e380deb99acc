import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type ApplyProgress,
  apply,
  decompress,
  sniffCompression,
  type TarError,
  zstdBinaryPath,
} from '../src/index.js';
import { buildTar, streamOf } from './fixtures/layer-tar.js';
import { removeDir, tempDir } from './fixtures/tree.js';

let dir = '';
const Stream = suite('apply: compression, progress, abort, flat memory');
Stream.before.each(() => {
  dir = tempDir('stream');
});
Stream.after.each(() => removeDir(dir));

const entries = Array.from({ length: 50 }, (_, i) => ({
  name: `d${i % 5}/f${i}`,
  content: `content ${i}\n`.repeat(i * 50),
}));

Stream('magic bytes are sniffed: plain, gzip, zstd; bzip2 and xz are refused with a clear code', async () => {
  assert.is(sniffCompression(Buffer.from([0x1f, 0x8b, 8])), 'gzip');
  assert.is(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  assert.is(sniffCompression(Buffer.from('BZh91AY')), 'bzip2');
  assert.is(sniffCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])), 'xz');
  assert.is(sniffCompression(Buffer.from('./etc')), 'none');
  try {
    await decompress(streamOf(Buffer.from('BZh91AY&SY')));
    assert.unreachable();
  } catch (err) {
    assert.is((err as TarError).code, 'ERR_OVL_UNSUPPORTED_COMPRESSION');
  }
});

Stream('gzip and zstd layers (fzstd and the zstd binary) give the same tree as the plain one', async () => {
  const tar = await buildTar(entries);
  const variants: Array<[string, Buffer, 'js' | 'binary' | undefined]> = [
    ['none', tar, undefined],
    ['gzip', gzipSync(tar), undefined],
  ];
  try {
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 28 });
    variants.push(['zstd', zst, 'js']);
    if (zstdBinaryPath()) variants.push(['zstd', zst, 'binary']);
  } catch {
    console.log('  (zstd binary missing: zstd layers not checked)');
  }
  for (const [compression, bytes, zstd] of variants) {
    const out = tempDir(`c-${compression}`);
    try {
      const r = await apply(streamOf(bytes, 3000), out, { zstd });
      assert.is(r.compression, compression);
      assert.is(r.bytes, tar.length);
      assert.is(r.entries, entries.length);
      for (const e of entries) assert.is(readFileSync(join(out, e.name), 'utf8'), e.content);
    } finally {
      removeDir(out);
    }
  }
});

Stream('onProgress reports growing bytes and entries, ending at the totals', async () => {
  const tar = await buildTar([...entries, { name: 'big', content: Buffer.alloc(3 << 20, 1) }]);
  const seen: ApplyProgress[] = [];
  const r = await apply(streamOf(tar), dir, { onProgress: (p) => seen.push({ ...p }) });
  assert.ok(seen.length >= entries.length + 3, 'per entry, and per MiB of a big file');
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i]!.bytes >= seen[i - 1]!.bytes && seen[i]!.entries >= seen[i - 1]!.entries);
  }
  assert.is(seen.at(-1)!.entries, r.entries);
  assert.is(r.entries, entries.length + 1);
  assert.ok(r.bytes === tar.length && seen.at(-1)!.bytes <= r.bytes);
});

Stream('an AbortSignal stops the apply with ERR_OVL_ABORTED', async () => {
  const ac = new AbortController();
  const tar = await buildTar(entries);
  let n = 0;
  try {
    await apply(streamOf(tar, 512), dir, {
      signal: ac.signal,
      onProgress: () => {
        if (++n === 5) ac.abort();
      },
    });
    assert.unreachable();
  } catch (err) {
    assert.is((err as TarError).code, 'ERR_OVL_ABORTED');
  }
});

Stream('a 4 GiB layer applies with flat memory (peak RSS under 150 MB, tsx included)', async () => {
  const out = tempDir('big', '/dev/shm');
  try {
    const script = `
      import { apply } from ${JSON.stringify(join(import.meta.dirname, '../src/index.ts'))};
      import { readFileSync } from 'node:fs';
      import { bigLayer } from ${JSON.stringify(join(import.meta.dirname, 'fixtures/big-layer.ts'))};
      const r = await apply(bigLayer(16, 256 * 1024 * 1024), ${JSON.stringify(out)});
      // VmHWM, not getrusage's maxrss: Linux keeps maxrss across exec, so a child of this (big) test
      // process would report at least this process's RSS at the fork.
      const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      console.log(JSON.stringify({ ...r, maxRSS: Number(hwm[1]) * 1024 }));`;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: join(import.meta.dirname, '..'),
    });
    assert.is(res.status, 0, res.stderr);
    const r = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
    assert.is(r.contentBytes, 4 * 1024 * 1024 * 1024);
    assert.is(statSync(join(out, 'big/file15')).size, 256 * 1024 * 1024);
    console.log(`  rss ${(r.maxRSS / 1e6).toFixed(0)}`);
    assert.ok(r.maxRSS < 150e6, `peak RSS ${(r.maxRSS / 1e6).toFixed(0)} MB`);
  } finally {
    removeDir(out);
  }
});

Stream('a 1 GiB gzip (and zstd) layer applies with flat memory too (peak RSS under 150 MB)', async () => {
  // The decompressor's output is what could pile up: 1 MiB gunzip chunks, the zstd child's pipe. The
  // layer is made and compressed in other processes (a generator piped through `gzip -1` / `zstd -1`),
  // so the peak RSS measured is the applying process's alone, as for the plain layer above.
  const kinds = zstdBinaryPath() ? ['gzip', 'zstd'] : ['gzip'];
  if (kinds.length === 1) console.log('  zstd part skipped: no zstd binary on PATH');
  const generator = `
    import { bigLayer } from ${JSON.stringify(join(import.meta.dirname, 'fixtures/big-layer.ts'))};
    import { Readable } from 'node:stream';
    Readable.from(bigLayer(4, 256 * 1024 * 1024)).pipe(process.stdout);`;
  for (const kind of kinds) {
    const out = tempDir(`big-${kind}`, '/dev/shm');
    try {
      const applier = `
        import { apply } from ${JSON.stringify(join(import.meta.dirname, '../src/index.ts'))};
        import { readFileSync } from 'node:fs';
        const r = await apply(process.stdin, ${JSON.stringify(out)});
        const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
        console.log(JSON.stringify({ ...r, maxRSS: Number(hwm[1]) * 1024 }));`;
      // The scripts go in through the environment: no shell quoting of their text.
      const node = (v: string) => `"$NODE" --import tsx --input-type=module -e "$${v}"`;
      const res = spawnSync(
        'bash',
        ['-o', 'pipefail', '-c', `${node('GEN')} | ${kind} -1 -c | ${node('APPLY')}`],
        {
          encoding: 'utf8',
          cwd: join(import.meta.dirname, '..'),
          // The default thread choice (none for a stream of big bodies), also in the suite's forced-threads
          // run: this is about the decompressor; the threads' ring memory is the plain layer test's.
          env: {
            ...process.env,
            OVL_APPLY_THREADS: '',
            NODE: process.execPath,
            GEN: generator,
            APPLY: applier,
          },
        },
      );
      assert.is(res.status, 0, res.stderr);
      const r = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
      assert.is(r.compression, kind);
      assert.is(r.contentBytes, 1024 * 1024 * 1024);
      const last = readFileSync(join(out, 'big/file3'));
      assert.is(last.length, 256 * 1024 * 1024);
      assert.ok(
        last.every((b) => b === 0x5a),
        'content of big/file3',
      );
      console.log(`  ${kind}: rss ${(r.maxRSS / 1e6).toFixed(0)} MB`);
      assert.ok(r.maxRSS < 150e6, `${kind}: peak RSS ${(r.maxRSS / 1e6).toFixed(0)} MB`);
    } finally {
      removeDir(out);
    }
  }
});

Stream.run();
