// changes(..., { format: 'naive' }): a new tree against its lowers, with Docker's ChangesDirs rules.
import { utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Change, changes } from '../src/index.js';
import { build, isRoot, naiveFixture, overlayWhiteout, rmTree, tempDir } from './diff-helpers.js';

const fmt = (list: Change[]) => list.map((c) => `${c.kind[0]!.toUpperCase()} ${c.path}`);

const naive = suite('changes: naive');

naive('content, mode, xattr and link-target changes; a touched dir alone is no change', async () => {
  const { lower, tree } = naiveFixture();
  try {
    assert.equal(fmt(await changes([lower], tree, { format: 'naive' })), [
      'M /etc',
      'M /etc/attr',
      'M /etc/conf',
      'M /etc/link',
      'M /etc/mode',
      'A /opt',
      'A /opt/new',
      'A /opt/new/file',
      'M /r',
      'A /r/fresh',
      'D /r/old1',
      'D /r/old2',
      'M /usr',
      'D /usr/gone',
    ]);
  } finally {
    rmTree(lower);
    rmTree(dirname(tree));
  }
});

naive('the same tree has no changes', async () => {
  const { lower, tree } = naiveFixture();
  try {
    assert.equal(await changes([lower], lower, { format: 'naive' }), []);
  } finally {
    rmTree(lower);
    rmTree(dirname(tree));
  }
});

naive('several lowers merge top first, honouring their whiteouts', async () => {
  if (!isRoot) return console.log('skip: needs root (mknod for whiteouts)');
  const l1 = tempDir('nl1');
  const l2 = tempDir('nl2');
  const tree = tempDir('nt2');
  try {
    build(l2, { 'a/deleted-below': 'x', 'a/shadowed': 'old', 'a/kept': 'k' });
    build(l1, { 'a/shadowed': 'new!' });
    overlayWhiteout(l1, 'a/deleted-below');
    build(tree, { 'a/shadowed': 'new!', 'a/kept': 'k' });
    // Explicit mtimes: the file-system clock is too coarse to tell files written in a row apart.
    utimesSync(join(l1, 'a/shadowed'), 1000, 1000);
    utimesSync(join(tree, 'a/shadowed'), 2000, 2000);
    utimesSync(join(l2, 'a/kept'), 1000, 1000);
    utimesSync(join(tree, 'a/kept'), 2000, 2000);
    const got = fmt(await changes([l1, l2], tree, { format: 'naive' }));
    // Only content-equal-by-metadata files are unchanged; deleted-below is not reported again.
    assert.not.ok(got.includes('D /a/deleted-below'));
    assert.ok(got.includes('M /a/shadowed'), 'mtime differs from the top lower');
    assert.ok(got.includes('M /a/kept'));
  } finally {
    rmTree(l1);
    rmTree(l2);
    rmTree(tree);
  }
});

naive.run();
