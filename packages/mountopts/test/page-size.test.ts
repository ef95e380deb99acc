import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  fillFdPlaceholders,
  type MountCallStep,
  type PlanOverlayOptions,
  planOverlayMount,
} from '../src/index.js';
import { hexId, STORE, throwsCode } from './helpers.js';

const mountStep = (p: { steps: unknown[] }) => p.steps[0] as MountCallStep;
const layers = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

const me = `${STORE}/${hexId(999)}`;

// Two lowers that make the absolute data exactly `bytes` long: "lowerdir=/z:" + path.
const lowersOfDataLength = (bytes: number) => ['/z', `/${'x'.repeat(bytes - 'lowerdir=/z:/'.length)}`];

const page = suite('planOverlayMount: page-size boundary');
for (const pageSize of [4096, 16384, 65536]) {
  page(`${pageSize}: data of pageSize − 1 bytes goes absolute`, () => {
    const plan = planOverlayMount({ target: '/m', lowers: lowersOfDataLength(pageSize - 1), pageSize });
    assert.is(plan.strategy, 'absolute');
    assert.is(plan.dataBytes, pageSize - 1);
    assert.is(Buffer.byteLength(mountStep(plan).data), pageSize - 1);
  });
  for (const bytes of [pageSize, pageSize + 1]) {
    page(
      `${pageSize}: data of ${bytes - pageSize === 0 ? 'pageSize' : 'pageSize + 1'} bytes is never emitted`,
      () => {
        const lowers = lowersOfDataLength(bytes);
        const e = throwsCode(
          () => planOverlayMount({ target: '/m', lowers, pageSize, strategy: 'absolute' }),
          'ERR_OVL_DATA_TOO_LONG',
        );
        assert.is(e.dataBytes, bytes);
        assert.is(e.pageSize, pageSize);
        const plan = planOverlayMount({ target: '/m', lowers, pageSize });
        assert.is(plan.strategy, 'fd-relative');
        assert.ok(plan.dataBytes < pageSize);
      },
    );
  }
  page(`${pageSize}: a multi-byte character straddling the boundary counts as bytes`, () => {
    const [z, path] = lowersOfDataLength(pageSize - 2); // pageSize − 2 + 2 bytes = pageSize
    assert.is(planOverlayMount({ target: '/m', lowers: [z!, `${path}é`], pageSize }).strategy, 'fd-relative');
  });
}
page.run();

// The numbers behind the README's facts: 64-hex layer IDs under containers/storage's home.
const facts = suite('planOverlayMount: how many 64-hex layers fit in a 4096-byte page');
const idLowers = (n: number) => layers(n, (i) => `${STORE}/${hexId(i)}/diff`);
const storeRelative = (n: number) => layers(n, (i) => `${hexId(i)}/diff`);
const rw = { upper: `${me}/diff`, work: `${me}/work`, target: `${me}/merged` };
function largest(make: (n: number) => PlanOverlayOptions): number {
  let n = 2; // a read-only overlay needs two layers
  while (n <= 500) {
    try {
      planOverlayMount(make(n));
    } catch {
      break;
    }
    n++;
  }
  return n - 1;
}
facts('absolute paths stop fitting at about 30 layers (36 with upper/work, 38 read-only)', () => {
  // each lower costs 105 bytes + ':'; "lowerdir=" plus upper and work (105 + 10, 105 + 9) leave room for 36
  const withUpper = largest((n) => ({ ...rw, lowers: idLowers(n), strategy: 'absolute' }));
  const readOnly = largest((n) => ({ target: '/m', lowers: idLowers(n), strategy: 'absolute' }));
  assert.is(withUpper, 36);
  assert.is(readOnly, 38);
  assert.ok(withUpper >= 30 && withUpper < 40);
  // the planner's choice flips right there
  assert.is(planOverlayMount({ ...rw, lowers: idLowers(36) }).strategy, 'absolute');
  assert.is(planOverlayMount({ ...rw, lowers: idLowers(37) }).strategy, 'fd-relative');
});
facts('store-relative <id>/diff paths stop fitting at about 58 layers (56 with upper/work)', () => {
  const links = (n: number) => ({ home: STORE, names: storeRelative(n) });
  const withUpper = largest((n) => ({
    ...rw,
    lowers: idLowers(n),
    links: links(n),
    strategy: 'link-relative',
  }));
  const readOnly = largest((n) => ({
    target: '/m',
    lowers: idLowers(n),
    links: links(n),
    strategy: 'link-relative',
  }));
  assert.is(withUpper, 56);
  assert.is(readOnly, 58);
  const plan = planOverlayMount({ ...rw, lowers: idLowers(56), links: links(56), strategy: 'link-relative' });
  assert.is(mountStep(plan).data.split(',')[1], `upperdir=${hexId(999)}/diff`);
});
facts('26-character l/ links: 128 layers fit with room for a label', () => {
  const names = (n: number) => layers(n, (i) => `l/${i.toString(36).toUpperCase().padStart(26, 'Q')}`);
  const label = 'system_u:object_r:container_file_t:s0:c123,c456';
  const plan = planOverlayMount({
    ...rw,
    lowers: idLowers(128),
    links: { home: STORE, names: names(128) },
    label,
    strategy: 'link-relative',
  });
  assert.ok(plan.dataBytes < 4096);
  const most = largest((n) => ({
    ...rw,
    lowers: idLowers(n),
    links: { home: STORE, names: names(n) },
    label,
    strategy: 'link-relative',
  }));
  assert.ok(most >= 128 && most < 140, String(most));
});
facts('fd-relative: 500 layers fit; with real descriptor numbers the data is under 2 KB', () => {
  const plan = planOverlayMount({ ...rw, lowers: idLowers(500) });
  assert.is(plan.strategy, 'fd-relative');
  assert.ok(plan.dataBytes < 4096);
  const filled = fillFdPlaceholders(
    mountStep(plan).data,
    layers(500, (i) => i + 3),
  );
  assert.ok(Buffer.byteLength(filled) < 2048 + 250, String(Buffer.byteLength(filled)));
  const readOnly = planOverlayMount({ target: '/m', lowers: idLowers(500) });
  const roFilled = fillFdPlaceholders(
    mountStep(readOnly).data,
    layers(500, (i) => i + 3),
  );
  assert.ok(Buffer.byteLength(roFilled) < 2048, String(Buffer.byteLength(roFilled)));
});
facts.run();
