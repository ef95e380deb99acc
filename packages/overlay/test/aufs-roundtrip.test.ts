import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AufsStore } from '@ovl/store';
import { apply, diff } from '@ovl/tar';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayDriver } from '../src/index.js';
import { writeBaseFiles } from './fixtures.js';
import { skipUnlessRoot, snapshotTree, tempHome } from './helpers.js';

const test = suite('overlay ⇄ aufs layout through diff/applyDiff');

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('layers moved to the aufs layout and back keep the same merged tree', async () => {
  if (skipUnlessRoot('layer moves')) return;
  const t = tempHome();
  const a = tempHome('ovl-aufs-');
  try {
    const d = await OverlayDriver.init(t.dir);
    await d.create('base');
    writeBaseFiles(join(t.dir, 'base', 'diff'));
    await d.create('top', 'base');
    const m = await d.get('top');
    writeFileSync(join(m, 'file'), 'changed');
    unlinkSync(join(m, 'symlink'));
    rmSync(join(m, 'deep'), { recursive: true });
    await d.put('top');

    // overlay → aufs: each layer's tar applied as an aufs branch (.wh. files kept)
    const aufs = await AufsStore.open(a.dir);
    await aufs.create('base');
    await apply(d.diff('base'), join(a.dir, 'diff', 'base'), { format: 'aufs' });
    await aufs.create('top', 'base');
    await apply(d.diff('top'), join(a.dir, 'diff', 'top'), { format: 'aufs' });
    assert.ok(readFileSync(join(a.dir, 'diff', 'top', '.wh.symlink')) !== undefined);

    // aufs → overlay: the aufs branches' tars applied into fresh overlay layers
    await d.create('base2');
    await d.applyDiff('base2', undefined, diff({ upper: join(a.dir, 'diff', 'base'), format: 'aufs' }));
    await d.create('top2', 'base2');
    const tar = await collect(
      diff({ upper: join(a.dir, 'diff', 'top'), format: 'aufs', lowers: [join(a.dir, 'diff', 'base')] }),
    );
    await d.applyDiff('top2', 'base2', Readable.from([tar]));

    const tree = async (id: string) => {
      const p = await d.get(id, { readOnly: true });
      try {
        return snapshotTree(p);
      } finally {
        await d.put(id);
      }
    };
    const want = await tree('top');
    assert.not.ok(want.symlink);
    assert.not.ok(want.deep);
    assert.equal(await tree('top2'), want);
  } finally {
    a.done();
    t.done();
  }
});

test.run();
