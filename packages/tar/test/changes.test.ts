// changes() and changesSize() over overlay and aufs upper dirs, as Docker's OverlayChanges / Changes.
import { chmodSync, linkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Change, changes, changesSize, isTarError } from '../src/index.js';
import { build, isRoot, markOpaque, overlayWhiteout, rmTree, tempDir } from './diff-helpers.js';

const fmt = (list: Change[]) => list.map((c) => `${c.kind[0]!.toUpperCase()} ${c.path}`);

const EXPECTED = [
  'M /a',
  'A /a/n',
  'D /a/x',
  'D /a/y',
  'M /b',
  'A /b/new',
  'D /b/z',
  'D /c',
  'M /keep/k',
  'A /new',
  'A /new/f',
];

/** A lower layer and the pieces of an upper both formats share. */
function layout(lower: string, upper: string): void {
  build(lower, {
    'a/x': 'x',
    'a/y': 'y',
    'b/z': 'z',
    c: 'c',
    'keep/k': 'k',
    'keep/same': 's',
    'dir/sub/f': 'f',
  });
  build(upper, { 'a/n': 'new', 'b/new': 'nn', 'keep/k': 'kkkk', 'new/f': 'fff' });
  // keep/ was copied up only to hold keep/k: same mode, owner and mtime as below, so not a change itself.
  chmodSync(join(lower, 'keep'), 0o755);
  chmodSync(join(upper, 'keep'), 0o755);
  utimesSync(join(lower, 'keep'), 5000, 5000);
  utimesSync(join(upper, 'keep'), 5000, 5000);
  utimesSync(join(upper, 'a'), 1, 1);
  utimesSync(join(upper, 'b'), 1, 1);
}

const overlay = suite('changes: overlay upper');

overlay('whiteouts and opaque dirs are deletes, unchanged copied-up dirs are left out', async () => {
  if (!isRoot) return console.log('skip: needs root (mknod, trusted.overlay.* xattrs)');
  const lower = tempDir('cl');
  const upper = tempDir('cu');
  try {
    layout(lower, upper);
    overlayWhiteout(upper, 'b/z');
    overlayWhiteout(upper, 'c');
    markOpaque(upper, 'a');
    utimesSync(join(upper, 'a'), 1, 1);
    utimesSync(join(upper, 'b'), 1, 1);
    assert.equal(fmt(await changes([lower], upper)), EXPECTED);
    assert.equal(fmt(await changes([lower], upper, { format: 'overlay' })), EXPECTED);
  } finally {
    rmTree(lower);
    rmTree(upper);
  }
});

overlay('a path deleted in a middle layer and made again above is an add', async () => {
  if (!isRoot) return console.log('skip: needs root');
  const l1 = tempDir('cl1');
  const l2 = tempDir('cl2');
  const upper = tempDir('cu2');
  try {
    build(l2, { 'etc/conf': 'v1', 'opt/tool/bin': 'b' });
    build(l1, { 'etc/': '', 'opt/': '' });
    overlayWhiteout(l1, 'etc/conf');
    overlayWhiteout(l1, 'opt/tool');
    build(upper, { 'etc/conf': 'v2', 'opt/tool/bin': 'b2' });
    for (const d of ['etc', 'opt']) {
      for (const root of [l1, upper]) {
        chmodSync(join(root, d), 0o755);
        utimesSync(join(root, d), 5000, 5000);
      }
    }
    assert.equal(fmt(await changes([l1, l2], upper)), [
      'M /etc',
      'A /etc/conf',
      'M /opt',
      'A /opt/tool',
      'A /opt/tool/bin',
    ]);
  } finally {
    rmTree(l1);
    rmTree(l2);
    rmTree(upper);
  }
});

overlay.run();

const aufs = suite('changes: aufs branch');

aufs('.wh. files are deletes, .wh..wh..opq hides the lower children, aufs metadata is skipped', async () => {
  const lower = tempDir('cal');
  const upper = tempDir('cau');
  try {
    layout(lower, upper);
    build(upper, {
      'b/.wh.z': '',
      '.wh.c': '',
      'a/.wh..wh..opq': '',
      '.wh..wh.aufs': '',
      '.wh..wh.plnk/1.2': '',
      '.wh..wh.orph/': '',
    });
    utimesSync(join(upper, 'a'), 1, 1);
    utimesSync(join(upper, 'b'), 1, 1);
    assert.equal(fmt(await changes([lower], upper, { format: 'aufs' })), EXPECTED);
  } finally {
    rmTree(lower);
    rmTree(upper);
  }
});

aufs(
  'aufs lowers: their whiteouts and opaque markers are honoured when telling add from modify',
  async () => {
    const l1 = tempDir('cal1');
    const l2 = tempDir('cal2');
    const upper = tempDir('cau2');
    try {
      build(l2, { gone: 'g', 'o/hidden': 'h', 'o/shown': 's', kept: 'k' });
      build(l1, { '.wh.gone': '', 'o/.wh..wh..opq': '', 'o/shown': 's2' });
      build(upper, { gone: 'again', 'o/hidden': 'new', 'o/shown': 's3', kept: 'k2' });
      for (const root of [l1, upper]) {
        chmodSync(join(root, 'o'), 0o755);
        utimesSync(join(root, 'o'), 5000, 5000);
      }
      assert.equal(fmt(await changes([l1, l2], upper, { format: 'aufs' })), [
        'A /gone',
        'M /kept',
        'M /o', // holds an add
        'A /o/hidden',
        'M /o/shown',
      ]);
    } finally {
      rmTree(l1);
      rmTree(l2);
      rmTree(upper);
    }
  },
);

aufs.run();

const size = suite('changesSize');

size('counts added and modified non-directories, each hardlinked inode once', async () => {
  const lower = tempDir('csl');
  const upper = tempDir('csu');
  try {
    build(lower, { 'keep/k': 'k', gone: 'g' });
    build(upper, { 'keep/k': '12345', 'new/a': '1234567890', 'new/big': 'x'.repeat(1000), '.wh.gone': '' });
    linkSync(join(upper, 'new/big'), join(upper, 'new/big-link'));
    const list = await changes([lower], upper, { format: 'aufs' });
    assert.ok(list.some((c) => c.path === '/new/big-link'));
    assert.is(await changesSize([lower], upper, list), 5 + 10 + 1000);
    assert.is(await changesSize([lower], upper, undefined, { format: 'aufs' }), 1015);
    writeFileSync(join(upper, 'new/a'), '1');
    assert.is(await changesSize([lower], upper, list), 5 + 1 + 1000);
  } finally {
    rmTree(lower);
    rmTree(upper);
  }
});

size('a missing directory is a TarError ERR_OVL_BAD_SOURCE', async () => {
  const err = await changes(['/nonexistent-lower'], '/nonexistent-upper').catch((e: unknown) => e);
  assert.ok(isTarError(err, 'ERR_OVL_BAD_SOURCE'));
});

size.run();
