import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkMountPath, escapeOverlayPath, parseLowerdir, unescapeOverlayPath } from '../src/index.js';
import { throwsCode } from './helpers.js';
import { kernelParseOverlayData } from './kernel-parser.js';

const escapeSuite = suite('escapeOverlayPath');
for (const [input, want] of [
  ['/var/lib/a', '/var/lib/a'],
  ['/a:b', '/a\\:b'],
  ['/a,b', '/a\\,b'],
  ['/a\\b', '/a\\\\b'],
  ['/x:y,z\\w', '/x\\:y\\,z\\\\w'],
  ['/a=b c', '/a=b c'],
  ['/über/ß', '/über/ß'],
  [':::', '\\:\\:\\:'],
] as const) {
  escapeSuite(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
    assert.is(escapeOverlayPath(input), want);
    assert.is(unescapeOverlayPath(want), input);
  });
}
escapeSuite.run();

const unescapeSuite = suite('unescapeOverlayPath');
unescapeSuite('drops each backslash and keeps the next character, like ovl_unescape', () => {
  assert.is(unescapeOverlayPath('\\a\\b'), 'ab');
  assert.is(unescapeOverlayPath('a\\'), 'a');
  assert.is(unescapeOverlayPath('\\\\\\:'), '\\:');
});
unescapeSuite.run();

const check = suite('checkMountPath');
check('accepts absolute paths, refuses empty, relative and NUL', () => {
  checkMountPath('/a', 'x');
  checkMountPath('rel', 'x', { absolute: false });
  assert.is(throwsCode(() => checkMountPath('', 'lower layer 0'), 'ERR_OVL_BAD_PATH')?.path, '');
  throwsCode(() => checkMountPath('a/b', 'upperdir'), 'ERR_OVL_BAD_PATH');
  throwsCode(() => checkMountPath('/a\0b', 'workdir'), 'ERR_OVL_BAD_PATH');
});
check.run();

const parse = suite('parseLowerdir');
for (const [value, layers, dataOnly] of [
  ['/a', ['/a'], []],
  ['/a:/b', ['/a', '/b'], []],
  ['/a\\:b:/c', ['/a:b', '/c'], []],
  ['/a::/d1::/d2', ['/a'], ['/d1', '/d2']],
  ['/a:/b::/d', ['/a', '/b'], ['/d']],
  ['/a\\\\:/b', ['/a\\', '/b'], []],
  ['', [], []],
] as const) {
  parse(`accepts ${JSON.stringify(value)}`, () => {
    assert.equal(parseLowerdir(value), { layers: [...layers], dataOnly: [...dataOnly] });
  });
}
for (const value of [':/a', '/a:::/b', '/a:', '/a::', '/a::/d:/b', '/a::::/b', '/a:\\', '\\:a:'.slice(2)]) {
  parse(`refuses ${JSON.stringify(value)} as the kernel does`, () => {
    throwsCode(() => parseLowerdir(value), 'ERR_OVL_BAD_PATH');
    assert.throws(() => kernelParseOverlayData(`lowerdir=${value}`));
  });
}
parse('an empty component between separators is refused', () => {
  throwsCode(() => parseLowerdir('/a:\\'), 'ERR_OVL_BAD_PATH');
});
parse.run();

const roundTrip = suite('escaping round-trips through the kernel rules');
const pathChar = fc.constantFrom('a', 'b', '/', ':', ',', '\\', '=', ' ', '"', 'é', '{', '}');
const anyPath = fc.array(pathChar, { minLength: 1, maxLength: 20 }).map((cs) => `/${cs.join('')}`);
roundTrip('any path with : , \\ survives as a lowerdir list and as upper/work', () => {
  fc.assert(
    fc.property(fc.array(anyPath, { minLength: 1, maxLength: 8 }), anyPath, anyPath, (lowers, up, wk) => {
      const data = `lowerdir=${lowers.map(escapeOverlayPath).join(':')},upperdir=${escapeOverlayPath(up)},workdir=${escapeOverlayPath(wk)}`;
      const view = kernelParseOverlayData(data);
      assert.equal(view.lowers, lowers);
      assert.is(view.upper, up);
      assert.is(view.work, wk);
      assert.equal(parseLowerdir(lowers.map(escapeOverlayPath).join(':')).layers, lowers);
    }),
    { numRuns: 300 },
  );
});
roundTrip.run();
