import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEFAULT_MAX_DEPTH,
  DOCKER_MAX_DEPTH,
  generateLinkId,
  isLinkId,
  LINK_ENTRY_BYTES,
  LINK_ID_LENGTH,
  linkRelativeDataBytes,
  maxLinkRelativeLayers,
} from '../src/index.js';

const test = suite('link IDs and the page arithmetic');

test('link IDs are 26 characters of [A-Z0-9] and differ', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const id = generateLinkId();
    assert.is(id.length, LINK_ID_LENGTH);
    assert.match(id, /^[A-Z0-9]{26}$/);
    assert.ok(isLinkId(id));
    seen.add(id);
  }
  assert.is(seen.size, 200);
  assert.not.ok(isLinkId('abc'));
});

test('128 link-relative layers fit a 4 KiB page, 500 do not', () => {
  assert.is(LINK_ENTRY_BYTES, 29);
  assert.is(DOCKER_MAX_DEPTH, 128);
  assert.is(DEFAULT_MAX_DEPTH, 500);
  assert.ok(linkRelativeDataBytes(128) < 4096, String(linkRelativeDataBytes(128)));
  assert.ok(linkRelativeDataBytes(500) > 4096);
  const n = maxLinkRelativeLayers(4096);
  assert.ok(n >= 128 && n < 140, String(n));
  assert.ok(maxLinkRelativeLayers(65536) >= 500);
});

test.run();
