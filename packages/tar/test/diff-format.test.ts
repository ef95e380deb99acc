// The bytes diff writes: deterministic order and header fields, PAX records for what ustar cannot hold,
// binary xattrs intact, large files streamed — checked through tar-stream and through GNU tar / bsdtar.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diff } from '../src/index.js';
import {
  bigContent,
  CAPABILITY,
  collect,
  describeTree,
  isRoot,
  LONG_FILE,
  LONG_TARGET,
  readTar,
  richTree,
  rmTree,
  run,
  tempDir,
} from './diff-helpers.js';

const fmt = suite('diff: output format');
let a = '';
let b = '';
let tarA: Buffer = Buffer.alloc(0);

fmt.before(async () => {
  a = tempDir('fa');
  b = tempDir('fb');
  richTree(a, 'forward');
  richTree(b, 'reverse');
  tarA = await collect(diff({ upper: a }));
});

fmt.after(() => {
  rmTree(a);
  rmTree(b);
});

fmt('the same tree gives byte-identical tars, whatever the inode numbers and directory order', async () => {
  const again = await collect(diff({ upper: a }));
  assert.ok(tarA.equals(again), 'same dir twice');
  const other = await collect(diff({ upper: b }));
  assert.ok(tarA.equals(other), 'a copy made in the reverse order');
  const naive = await collect(diff({ lowers: [], tree: a }));
  assert.ok(tarA.equals(naive), 'naive diff against nothing writes the same layer');
});

fmt('entries sorted parents first, PAX for long names, links, ids and sub-second times', async () => {
  const records = await readTar(tarA);
  const names = records.map((r) => r.name);
  assert.equal(names, [
    'big.bin',
    'bin/',
    'bin/su',
    'dev/',
    'dev/fifo',
    ...(isRoot ? ['dev/null'] : []),
    'empty',
    'etc/',
    'etc/conf',
    'etc/h1',
    'etc/h2',
    'etc/h3',
    'links/',
    'links/abs',
    'links/long',
    'long/',
    `${LONG_FILE.slice(0, LONG_FILE.lastIndexOf('/'))}/`,
    LONG_FILE,
    'tmp/',
    'utf/',
    'utf/café/',
    'utf/café/naïve.txt',
  ]);
  const by = new Map(records.map((r) => [r.name, r]));
  assert.is(by.get(LONG_FILE)?.pax?.path, LONG_FILE);
  assert.is(by.get('utf/café/naïve.txt')?.pax?.path, 'utf/café/naïve.txt');
  assert.is(by.get('links/long')?.linkname, LONG_TARGET);
  assert.is(by.get('links/long')?.pax?.linkpath, LONG_TARGET);
  assert.is(by.get('links/abs')?.linkname, '/proc/self/fd');
  assert.is(by.get('big.bin')?.pax?.mtime, '1600000000.25');
  assert.is(by.get('etc/conf')?.pax?.mtime, '-100');
  assert.is(by.get('tmp/')?.mode, 0o1777);
  assert.is(by.get('etc/conf')?.mode, 0o2640);
  assert.is(by.get('bin/su')?.mode, 0o4755);
  assert.is(by.get('etc/h1')?.type, 'file');
  for (const h of ['etc/h2', 'etc/h3']) {
    assert.is(by.get(h)?.type, 'link');
    assert.is(by.get(h)?.linkname, 'etc/h1');
  }
  assert.ok(by.get('big.bin')?.content.equals(bigContent()));
  if (isRoot) {
    assert.is(by.get('etc/conf')?.pax?.uid, '3000000');
    assert.is(by.get('etc/conf')?.pax?.gid, '3000001');
    assert.equal([by.get('links/abs')?.uid, by.get('links/abs')?.gid], [1000, 1000]);
    assert.equal([by.get('dev/null')?.devmajor, by.get('dev/null')?.devminor], [1, 3]);
  }
  for (const r of records) assert.equal([r.uname, r.gname], ['', '']);
});

fmt('GNU tar and bsdtar extract the same tree back, binary xattrs included', async () => {
  const tarDir = tempDir('ftar');
  const layer = join(tarDir, 'layer.tar');
  try {
    writeFileSync(layer, tarA);
    const expected = describeTree(a, { mtimes: true });
    for (const tool of ['gnu', 'bsd'] as const) {
      const out = tempDir(`fx-${tool}`);
      try {
        if (tool === 'gnu')
          run('tar', [
            '--xattrs',
            '--xattrs-include=*',
            '--numeric-owner',
            '--warning=no-timestamp',
            '-xpf',
            layer,
            '-C',
            out,
          ]);
        else run('bsdtar', ['--xattrs', '--numeric-owner', '-xpf', layer, '-C', out]);
        assert.equal(describeTree(out, { mtimes: true }), expected, `${tool} tar`);
        assert.ok(
          lgetxattr(join(out, 'etc/conf'), 'user.comment')?.equals(Buffer.from([0xff, 0, 0x80, 0x41])),
        );
        if (isRoot) assert.ok(lgetxattr(join(out, 'bin/su'), 'security.capability')?.equals(CAPABILITY));
      } finally {
        rmTree(out);
      }
    }
  } finally {
    rmTree(tarDir);
  }
});

fmt('GNU tar lists the same names and no user or group names', async () => {
  const dir = tempDir('flist');
  try {
    writeFileSync(join(dir, 'l.tar'), tarA);
    const listing = run('tar', ['-tvf', join(dir, 'l.tar'), '--numeric-owner']).toString();
    assert.not.match(listing, /root/);
    const names = run('tar', ['-tf', join(dir, 'l.tar')])
      .toString()
      .trim()
      .split('\n');
    assert.equal(
      names,
      (await readTar(tarA)).map((r) => r.name),
    );
  } finally {
    rmTree(dir);
  }
});

fmt('a missing source ends the stream with ERR_OVL_BAD_SOURCE', async () => {
  const err = await collect(diff({ upper: '/nonexistent-ovl-upper' })).catch((e: unknown) => e);
  assert.is((err as { code?: string }).code, 'ERR_OVL_BAD_SOURCE');
  const dir = tempDir('fe');
  try {
    mkdirSync(join(dir, 'x'));
    const err2 = await collect(diff({ lowers: [join(dir, 'nope')], tree: dir })).catch((e: unknown) => e);
    assert.is((err2 as { code?: string }).code, 'ERR_OVL_BAD_SOURCE');
  } finally {
    rmTree(dir);
  }
});

fmt.run();
