// diff({ lowers, tree }): the naive diff, written as a layer: changed entries with their parents,
// `.wh.` entries for deletes, one opaque marker for a directory replaced wholesale.
import { dirname } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diff } from '../src/index.js';
import { collect, naiveFixture, readTar, rmTree, summary } from './diff-helpers.js';

const naive = suite('diff: naive (new tree against lowers)');

naive('writes exactly the changes, parents first, whiteouts and an opaque marker', async () => {
  const { lower, tree } = naiveFixture();
  try {
    const records = await readTar(await collect(diff({ lowers: [lower], tree })));
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const o = `${uid}:${gid}`;
    assert.equal(summary(records), [
      `etc/ directory 755 ${o} 0`,
      `etc/attr file 644 ${o} 1`,
      `etc/conf file 644 ${o} 2`,
      `etc/link symlink 777 ${o} 0 -> target-b`,
      `etc/mode file 600 ${o} 1`,
      `opt/ directory 755 ${o} 0`,
      `opt/new/ directory 755 ${o} 0`,
      `opt/new/file file 644 ${o} 3`,
      `r/ directory 755 ${o} 0`,
      `r/.wh..wh..opq file 755 ${o} 0`,
      `r/fresh file 644 ${o} 1`,
      `usr/ directory 755 ${o} 0`,
      'usr/.wh.gone file 0 0:0 0',
    ]);
    const attr = records.find((r) => r.name === 'etc/attr');
    assert.is(attr?.pax?.['SCHILY.xattr.user.k'], 'v');
    assert.is(records.find((r) => r.name === 'etc/conf')?.content.toString(), 'v2');
  } finally {
    rmTree(lower);
    rmTree(dirname(tree));
  }
});

naive('a tree equal to its lower gives an empty layer', async () => {
  const { lower, tree } = naiveFixture();
  try {
    const tar = await collect(diff({ lowers: [lower], tree: lower }));
    assert.is(tar.length, 1024, 'only the end-of-archive blocks');
  } finally {
    rmTree(lower);
    rmTree(dirname(tree));
  }
});

naive.run();
