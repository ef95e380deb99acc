import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkMountLabel, formatMountLabel } from '../src/index.js';
import { throwsCode } from './helpers.js';
import { kernelParseOverlayData } from './kernel-parser.js';

const label = suite('formatMountLabel');
const mcs = 'system_u:object_r:container_file_t:s0:c1,c2';
for (const [data, lbl, want] of [
  ['lowerdir=/a', undefined, 'lowerdir=/a'],
  ['lowerdir=/a', '', 'lowerdir=/a'],
  ['lowerdir=/a', 'x_t', 'lowerdir=/a,context="x_t"'],
  ['', 'x_t', 'context="x_t"'],
  ['', undefined, ''],
  ['lowerdir=/a', mcs, `lowerdir=/a,context="${mcs}"`],
] as const) {
  label(`${JSON.stringify(data)} + ${JSON.stringify(lbl)}`, () => {
    assert.is(formatMountLabel(data, lbl), want);
  });
}
label('an MCS label with a comma reaches the LSM whole', () => {
  const view = kernelParseOverlayData(formatMountLabel('lowerdir=/a,upperdir=/u,workdir=/w', mcs));
  assert.is(view.context, mcs);
  assert.equal(view.lowers, ['/a']);
  assert.is(view.work, '/w');
});
label('labels that cannot be quoted are refused', () => {
  for (const bad of ['a"b', 'a\nb', 'a\0b']) {
    throwsCode(() => formatMountLabel('x', bad), 'ERR_OVL_BAD_OPTION');
    throwsCode(() => checkMountLabel(bad), 'ERR_OVL_BAD_OPTION');
  }
});
label.run();
