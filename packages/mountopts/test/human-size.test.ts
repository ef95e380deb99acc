import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseHumanSize } from '../src/index.js';
import { throwsCode } from './helpers.js';

const size = suite('parseHumanSize (Docker RAMInBytes)');
for (const [input, want] of [
  ['10G', 10 * 2 ** 30],
  ['512m', 512 * 2 ** 20],
  ['1.5GiB', 1.5 * 2 ** 30],
  ['100kb', 100 * 1024],
  ['100KB', 100 * 1024],
  ['100 KiB', 100 * 1024],
  ['32', 32],
  ['32b', 32],
  ['32B', 32],
  ['1t', 2 ** 40],
  ['2P', 2 * 2 ** 50],
  ['0.5k', 512],
  ['1.0001k', 1024],
  ['0', 0],
  ['1Gi', 2 ** 30],
] as const) {
  size(`${input} → ${want}`, () => assert.is(parseHumanSize(input), want));
}
for (const bad of [
  '',
  'G',
  '-1',
  '10X',
  '1.2.3',
  '10  G',
  ' 10G',
  '10GiBs',
  '1,5G',
  'ten',
  '1e3',
  '99999999999P',
]) {
  size(`refuses ${JSON.stringify(bad)}`, () => {
    const e = throwsCode(() => parseHumanSize(bad), 'ERR_OVL_BAD_OPTION');
    assert.is(e.option, 'size');
  });
}
size.run();
