import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { indexTar, resolveMember } from '../src/tar-index.js';
import { cleanup, tempDir, writeBytes } from './fixtures.js';

const ctx: { dir?: string } = {};
const index = suite('tar member index (headers only, ranged reads)');
index.after.each(async () => cleanup(ctx.dir));

const longName = `blobs/${'d'.repeat(120)}/${'e'.repeat(60)}`;

for (const format of ['gnu', 'posix', 'ustar'] as const) {
  index(
    `GNU tar --format=${format}: names (long ones too), offsets and sizes point at the bytes`,
    async () => {
      ctx.dir = await tempDir(`tarindex-${format}`);
      const src = join(ctx.dir, 'src');
      const files: Record<string, Buffer> = {
        'index.json': Buffer.from('{"a":1}'),
        'blobs/sha256/abc': Buffer.alloc(1000, 7),
        empty: Buffer.alloc(0),
      };
      // ustar keeps names ≤ 100 bytes (plus a 155-byte prefix split at a slash).
      if (format !== 'ustar') files[longName] = Buffer.from('long');
      else files[`${'p'.repeat(60)}/${'q'.repeat(60)}/short`] = Buffer.from('prefixed');
      for (const [name, data] of Object.entries(files)) await writeBytes(join(src, name), data);
      const file = join(ctx.dir, 'a.tar');
      execFileSync('tar', [`--format=${format}`, '-C', src, '-cf', file, '.']);
      const members = await indexTar(file);
      const whole = await readFile(file);
      for (const [name, data] of Object.entries(files)) {
        const m = resolveMember(members, name);
        assert.ok(m, `${name} indexed`);
        assert.is(m!.size, data.length, name);
        assert.ok(whole.subarray(m!.offset, m!.offset + m!.size).equals(data), `${name} bytes`);
      }
      assert.is(members.get('blobs/sha256')?.type, '5');
    },
  );
}

index('symlinks and hardlinks inside the archive resolve to the member with the bytes', async () => {
  ctx.dir = await tempDir('tarindex-links');
  const src = join(ctx.dir, 'src');
  await writeBytes(join(src, 'a/layer.tar'), Buffer.from('layer bytes'));
  execFileSync('mkdir', ['-p', join(src, 'b'), join(src, 'c')]);
  execFileSync('ln', ['-s', '../a/layer.tar', join(src, 'b/layer.tar')]);
  execFileSync('ln', [join(src, 'a/layer.tar'), join(src, 'c/layer.tar')]);
  execFileSync('ln', ['-s', 'nowhere', join(src, 'dangling')]);
  const file = join(ctx.dir, 'a.tar');
  execFileSync('tar', ['-C', src, '-cf', file, '.']);
  const members = await indexTar(file);
  const a = resolveMember(members, 'a/layer.tar')!;
  const c = resolveMember(members, './c/layer.tar')!;
  assert.is(resolveMember(members, 'b/layer.tar')?.offset, a.offset);
  assert.is(c.size, 11);
  assert.is(resolveMember(members, 'dangling'), undefined);
  assert.is(resolveMember(members, 'b'), undefined, 'a directory has no bytes');
});

index('a size in GNU base-256 notation is read', async () => {
  ctx.dir = await tempDir('tarindex-b256');
  const src = join(ctx.dir, 'src');
  await writeBytes(join(src, 'f'), Buffer.from('0123456789'));
  const file = join(ctx.dir, 'a.tar');
  execFileSync('tar', ['--format=gnu', '-C', src, '-cf', file, 'f']);
  const bytes = await readFile(file);
  // Rewrite the size field (offset 124, 12 bytes) as base-256 and fix the checksum.
  bytes.fill(0, 124, 136);
  bytes[124] = 0x80;
  bytes[135] = 10;
  bytes.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += bytes[i]!;
  bytes.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  await writeFile(file, bytes);
  assert.is(spawnSync('tar', ['-tf', file]).status, 0, 'GNU tar accepts the rewritten header');
  assert.is((await indexTar(file)).get('f')?.size, 10);
});

index('not a tar, and a tar cut short: ERR_OVL_BAD_IMAGE', async () => {
  ctx.dir = await tempDir('tarindex-bad');
  const junk = join(ctx.dir, 'junk');
  await writeFile(junk, Buffer.alloc(2048, 'x'));
  const err = await indexTar(junk).catch((e) => e);
  assert.is(err.code, 'ERR_OVL_BAD_IMAGE');
  assert.match(err.message, 'not a tar archive');
  const src = join(ctx.dir, 'src');
  await writeBytes(join(src, 'big'), Buffer.alloc(10_000, 1));
  const file = join(ctx.dir, 'a.tar');
  execFileSync('tar', ['-C', src, '-cf', file, 'big']);
  await writeFile(file, (await readFile(file)).subarray(0, 4096));
  const cut = await indexTar(file).catch((e) => e);
  assert.is(cut.code, 'ERR_OVL_BAD_IMAGE');
  assert.match(cut.message, 'truncated');
});

index.run();
