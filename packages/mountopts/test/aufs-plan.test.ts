import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AUFS_OPTIONS_OFFSET, type MountCallStep, MS_REMOUNT, planAufsMount } from '../src/index.js';
import { throwsCode } from './helpers.js';

const datas = (p: { steps: unknown[] }) => (p.steps as MountCallStep[]).map((s) => s.data);

const basic = suite('planAufsMount: one mount');
basic('Docker packing: br:rw=rw:ro=ro+wh..., dio, xino', () => {
  const plan = planAufsMount({ target: '/mnt/c', rw: '/d/c', ro: ['/d/p1', '/d/p2'] });
  assert.equal(plan, {
    strategy: 'aufs',
    pageSize: 4096,
    dataBytes: 'br:/d/c=rw:/d/p1=ro+wh:/d/p2=ro+wh,dio,xino=/dev/shm/aufs.xino'.length,
    steps: [
      {
        kind: 'mount',
        source: 'none',
        target: '/mnt/c',
        fstype: 'aufs',
        flags: 0,
        data: 'br:/d/c=rw:/d/p1=ro+wh:/d/p2=ro+wh,dio,xino=/dev/shm/aufs.xino',
      },
    ],
  });
});
basic('dirperm1, a custom xino and the label', () => {
  const plan = planAufsMount({
    target: '/m',
    rw: '/rw',
    ro: [],
    dirperm1: true,
    xino: '/run/x.xino',
    label: 's0:c1,c2',
  });
  assert.equal(datas(plan), ['br:/rw=rw,dio,xino=/run/x.xino,dirperm1,context="s0:c1,c2"']);
});
basic('refusals', () => {
  throwsCode(() => planAufsMount({ target: '/m', rw: '/a:b', ro: [] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planAufsMount({ target: '/m', rw: '/rw', ro: ['/x,y'] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planAufsMount({ target: '/m', rw: '/rw', ro: ['/x=y'] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planAufsMount({ target: '/m', rw: 'rw', ro: [] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planAufsMount({ target: '/m', rw: '/rw', ro: [''] }), 'ERR_OVL_BAD_PATH');
  throwsCode(
    () => planAufsMount({ target: '/m', rw: '/rw', ro: [], strategy: 'x' as never }),
    'ERR_OVL_BAD_OPTION',
  );
  throwsCode(
    () => planAufsMount({ target: '/m', rw: '/rw', ro: ['/a', '/b'], maxDepth: 1 }),
    'ERR_OVL_MAX_DEPTH',
  );
  throwsCode(() => planAufsMount({ target: '/m', rw: '/rw', ro: [], label: 'a"b' }), 'ERR_OVL_BAD_OPTION');
});
basic.run();

// Budget 4096 − 54 = 4042 with no label: "br:/rw=rw" is 9 bytes, leaving 4033 = 37 × 109, so 37 entries
// ":<path>=ro+wh" of 109 bytes (paths of 102) fill it exactly.
const boundary = suite('planAufsMount: where the first mount ends');
const ro = (n: number, len: number) =>
  Array.from({ length: n }, (_, i) => `/${String(i).padStart(len - 1, 'r')}`);
boundary('the budget falling exactly between entries: all 37 go in the first mount', () => {
  const plan = planAufsMount({ target: '/m', rw: '/rw', ro: ro(38, 102) });
  const [first, second] = datas(plan);
  const br = first!.split(',')[0]!;
  assert.is(br.length, 4096 - AUFS_OPTIONS_OFFSET);
  assert.is(br.split(':').length - 2, 37);
  assert.is(second, `append:${ro(38, 102)[37]}=ro+wh`);
  assert.is((plan.steps[1] as MountCallStep).flags, MS_REMOUNT);
});
for (const short of [1, 3, 6]) {
  boundary(
    `the budget falling inside "=ro+wh" (${short} byte${short > 1 ? 's' : ''} short): 36 go first`,
    () => {
      const rw = `/rw${'w'.repeat(short)}`;
      const plan = planAufsMount({ target: '/m', rw, ro: ro(38, 102) });
      const [first, second] = datas(plan);
      assert.is(first!.split(',')[0]!.split(':').length - 2, 36);
      assert.is(second, `append:${ro(38, 102)[36]}=ro+wh,append:${ro(38, 102)[37]}=ro+wh`);
    },
  );
}
boundary('the same arithmetic with a label and dirperm1 (Docker subtracts both)', () => {
  const label = 'l'.repeat(50);
  // budget = 4096 − 50 − 54 − 8 = 3984; 3984 − 9 = 3975 = 25 × 159: 25 entries of paths of 152
  const plan = planAufsMount({ target: '/m', rw: '/rw', ro: ro(26, 152), label, dirperm1: true });
  const [first] = datas(plan);
  assert.is(first!.split(',')[0]!.split(':').length - 2, 25);
  assert.ok(plan.dataBytes < 4096);
  assert.is(plan.steps.length, 2);
});
for (const pageSize of [4096, 16384, 65536]) {
  boundary(`page ${pageSize}: every call's data stays below the page`, () => {
    const plan = planAufsMount({
      target: '/m',
      rw: '/rw',
      ro: ro(900, 200),
      pageSize,
      label: 'x',
      dirperm1: true,
    });
    for (const d of datas(plan)) assert.ok(Buffer.byteLength(d) <= pageSize - 1);
    assert.ok(plan.dataBytes <= pageSize - 1);
  });
}
boundary.run();

const appends = suite('planAufsMount: remounts');
appends('aufs: remounts pack append entries to a page, in order, each with the label', () => {
  const layers = ro(200, 120);
  const plan = planAufsMount({ target: '/m', rw: '/rw', ro: layers, label: 'x_t' });
  const remounts = datas(plan).slice(1);
  assert.ok(remounts.length >= 4 && remounts.length < 8, String(remounts.length));
  const appended: string[] = [];
  for (const d of remounts) {
    assert.ok(d.endsWith(',context="x_t"'));
    assert.ok(Buffer.byteLength(d) <= 4095);
    for (const e of d.replace(/,context="x_t"$/, '').split(','))
      appended.push(e.replace(/^append:(.*)=ro\+wh$/, '$1'));
  }
  const first = datas(plan)[0]!
    .split(',')[0]!
    .slice(3)
    .split(':')
    .slice(1)
    .map((e) => e.replace(/=ro\+wh$/, ''));
  assert.equal([...first, ...appended], layers);
  // packed: the next entry would not have fitted in each full remount
  for (let i = 0; i < remounts.length - 1; i++) {
    assert.ok(Buffer.byteLength(remounts[i]!) + 1 + `append:${layers[0]}=ro+wh`.length > 4095);
  }
});
appends('aufs-append-each: one remount per remaining layer, as the older driver did', () => {
  const layers = ro(60, 102);
  const plan = planAufsMount({ target: '/m', rw: '/rw', ro: layers, strategy: 'aufs-append-each' });
  assert.is(plan.strategy, 'aufs-append-each');
  assert.equal(
    datas(plan).slice(1),
    layers.slice(37).map((p) => `append:${p}=ro+wh`),
  );
});
appends('a read-only branch too long for any page is ERR_OVL_DATA_TOO_LONG naming it', () => {
  const long = `/${'z'.repeat(5000)}`;
  const e = throwsCode(
    () => planAufsMount({ target: '/m', rw: '/rw', ro: ['/a', long] }),
    'ERR_OVL_DATA_TOO_LONG',
  );
  assert.is(e.path, long);
  assert.is(e.pageSize, 4096);
  assert.ok(e.dataBytes! > 5000);
  // …and it fits on a 16K page
  assert.is(planAufsMount({ target: '/m', rw: '/rw', ro: ['/a', long], pageSize: 16384 }).steps.length, 1);
});
appends('a branch too long for the first mount but not a page goes into a remount', () => {
  const mid = `/${'m'.repeat(4060)}`;
  const plan = planAufsMount({ target: '/m', rw: '/rw', ro: [mid, '/b'] });
  assert.equal(datas(plan), ['br:/rw=rw,dio,xino=/dev/shm/aufs.xino', `append:${mid}=ro+wh,append:/b=ro+wh`]);
});
appends('an rw branch too long for the first mount is ERR_OVL_DATA_TOO_LONG', () => {
  const e = throwsCode(
    () => planAufsMount({ target: '/m', rw: `/${'w'.repeat(4040)}`, ro: [] }),
    'ERR_OVL_DATA_TOO_LONG',
  );
  assert.match(e.message, 'rw branch');
});
appends.run();
