import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isValidLayerId, MAX_LAYER_ID_LENGTH, StoreError, validateLayerId } from '../src/index.js';

const test = suite('validateLayerId');

test('accepts docker and containers/storage style IDs', () => {
  for (const id of ['a'.repeat(64), 'base', 'my-layer_1.2', 'L', 'x'.repeat(MAX_LAYER_ID_LENGTH)]) {
    validateLayerId(id);
  }
});

test('refuses unsafe IDs with ERR_OVL_BAD_LAYER_ID naming the ID', () => {
  for (const id of [
    '',
    '.',
    '..',
    'a/b',
    '../x',
    'a\0b',
    '.hidden',
    'l',
    'x'.repeat(MAX_LAYER_ID_LENGTH + 1),
  ]) {
    try {
      validateLayerId(id);
      assert.unreachable(`accepted ${JSON.stringify(id)}`);
    } catch (err) {
      assert.instance(err, StoreError);
      assert.is((err as StoreError).code, 'ERR_OVL_BAD_LAYER_ID');
      assert.is((err as StoreError).path, id);
    }
    assert.not.ok(isValidLayerId(id));
  }
});

test('counts bytes, not characters', () => {
  assert.not.ok(isValidLayerId('é'.repeat(MAX_LAYER_ID_LENGTH / 2 + 1)));
});

test.run();
