import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  byteLength,
  checkDepth,
  FD_HEADROOM,
  fdDigits,
  fdPlaceholder,
  fillFdPlaceholders,
  fitsPage,
} from '../src/index.js';
import { throwsCode } from './helpers.js';

const fd = suite('fd placeholders');
fd('fillFdPlaceholders substitutes by index, repeatedly and in any order', () => {
  assert.is(fdPlaceholder(3), '{{fd:3}}');
  assert.is(fillFdPlaceholders('lowerdir={{fd:1}}:{{fd:0}},x={{fd:1}}', [17, 9]), 'lowerdir=9:17,x=9');
  assert.is(fillFdPlaceholders('no placeholders', []), 'no placeholders');
});
fd('a missing or invalid descriptor is an error naming the placeholder', () => {
  assert.is(throwsCode(() => fillFdPlaceholders('{{fd:2}}', [3, 4]), 'ERR_OVL_BAD_OPTION').option, 'fd:2');
  throwsCode(() => fillFdPlaceholders('{{fd:0}}', [-1]), 'ERR_OVL_BAD_OPTION');
  throwsCode(() => fillFdPlaceholders('{{fd:0}}', [1.5]), 'ERR_OVL_BAD_OPTION');
});
fd('fdDigits: widest descriptor below count + FD_HEADROOM', () => {
  assert.is(FD_HEADROOM, 1024);
  for (const [count, digits] of [
    [1, 4],
    [500, 4],
    [8976, 4],
    [8977, 5],
  ] as const) {
    assert.is(fdDigits(count), digits, String(count));
  }
});
fd.run();

const small = suite('byteLength, fitsPage, checkDepth');
small('byteLength agrees with Buffer.byteLength', () => {
  for (const s of ['', 'abc', 'é', '€', '😀', 'a\ud800b', '\udc00', 'x😀é€']) {
    assert.is(byteLength(s), Buffer.byteLength(s), JSON.stringify(s));
  }
});
small('fitsPage leaves room for the NUL', () => {
  assert.ok(fitsPage(4095, 4096));
  assert.not.ok(fitsPage(4096, 4096));
  assert.not.ok(fitsPage(4097, 4096));
});
small('checkDepth', () => {
  checkDepth(500);
  checkDepth(3, 3);
  const e = throwsCode(() => checkDepth(4, 3, 'aufs'), 'ERR_OVL_MAX_DEPTH');
  assert.match(e.message, 'aufs limit of 3');
  throwsCode(() => checkDepth(501), 'ERR_OVL_MAX_DEPTH');
});
small.run();
