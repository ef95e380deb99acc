// PathClaims: the hashed set of paths EntryWriter has claimed in fresh dirs. It must never say "not
// claimed" for a path that was added (a file could then be created twice, racing a writer thread); a
// false "claimed" only costs time, and should not happen for ordinary trees.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PathClaims } from '../src/apply/path-claims.js';

const claims = suite('PathClaims');

claims('every added path is found, through many doublings of the table', () => {
  const c = new PathClaims();
  const added: Array<[string, string]> = [];
  for (let d = 0; d < 500; d++) {
    const dir = `usr/share/doc/pkg-${d}`;
    for (let f = 0; f < 400; f++) {
      c.add(dir, `file-${f}.txt`);
      added.push([dir, `file-${f}.txt`]);
    }
  }
  assert.is(c.size, added.length);
  // Looked up as fresh strings of the same text, not the objects added, and in another order.
  for (const [dir, base] of added.reverse())
    assert.ok(c.has(`${dir.slice(0, 4)}${dir.slice(4)}`, `${base}`), base);
});

claims('a path is the same however it is split into parent and base', () => {
  const c = new PathClaims();
  c.add('a/b', 'c');
  assert.ok(c.has('a', 'b/c'));
  assert.ok(c.has('', 'a/b/c'));
  c.add('', 'top');
  assert.ok(c.has('', 'top'));
  assert.not.ok(c.has('top', ''));
  assert.not.ok(c.has('a', 'b'));
});

claims('paths never added are not claimed: near misses, prefixes, case, unicode', () => {
  const c = new PathClaims();
  for (let i = 0; i < 100_000; i++) c.add('a/b', `${i}`);
  let wrong = 0;
  for (let i = 0; i < 100_000; i++) {
    for (const [d, b] of [
      ['a/b', `${i}x`],
      ['a/b', `${i + 100_000}`],
      ['a/B', `${i}`],
      [`a/b/${i}`, ''],
      ['a', `b${i}`],
      ['a/b', `é${i}`],
    ] as const) {
      if (c.has(d, b)) wrong++;
    }
  }
  assert.is(wrong, 0);
  assert.not.ok(c.has('a', 'b'));
  assert.not.ok(c.has('', ''));
});

claims('adding a path twice keeps one; the root and long names are paths like any other', () => {
  const c = new PathClaims();
  assert.not.ok(c.has('', 'x'));
  c.add('', 'x');
  c.add('', 'x');
  assert.is(c.size, 1);
  c.add('', '');
  assert.ok(c.has('', ''));
  const long = 'd/'.repeat(2000);
  c.add(long, 'f');
  assert.ok(c.has(`${long}`, 'f'));
  assert.not.ok(c.has(long, 'g'));
  c.add('dir', '名前');
  assert.ok(c.has('dir', '名前'));
  assert.not.ok(c.has('dir', '名'));
  assert.is(c.size, 4);
});

claims.run();
