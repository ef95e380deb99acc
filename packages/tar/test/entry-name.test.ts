// cleanEntryName: a tar entry's name as a path relative to the target (Docker's filepath.Clean and
// breakout check), on the fast path (plain names, and names behind the `./` of `tar -C dir .`) and off it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanEntryName } from '../src/apply/entry-name.js';
import { TarError } from '../src/index.js';

const names = suite('cleanEntryName');

names('plain and ./-prefixed names, dirs with their slash, the target itself', () => {
  const cases: Array<[string, string]> = [
    ['etc/passwd', 'etc/passwd'],
    ['./etc/passwd', 'etc/passwd'],
    ['usr/', 'usr'],
    ['./usr/share/', 'usr/share'],
    ['./', ''],
    ['.', ''],
    ['/', ''],
    ['./.', ''],
    ['././etc', 'etc'],
    ['.hidden', '.hidden'],
    ['./.wh..wh..opq', '.wh..wh..opq'],
    ['./..data', '..data'],
  ];
  for (const [name, want] of cases) assert.is(cleanEntryName(name), want, name);
});

names('absolute names land inside; empty and dot components are cleaned', () => {
  const cases: Array<[string, string]> = [
    ['/etc/passwd', 'etc/passwd'],
    ['.//etc', 'etc'],
    ['a//b', 'a/b'],
    ['./a/./b', 'a/b'],
    ['./a/../b', 'b'],
    ['a/b/..', 'a'],
    ['//x/', 'x'],
  ];
  for (const [name, want] of cases) assert.is(cleanEntryName(name), want, name);
});

names('a .. that climbs above the target, or a NUL byte, is refused', () => {
  for (const name of ['..', '../x', './../x', 'a/../../x', '/..', './a/../..']) {
    try {
      cleanEntryName(name);
      assert.unreachable(name);
    } catch (err) {
      assert.instance(err, TarError, name);
      assert.is((err as TarError).code, 'ERR_OVL_UNSAFE_PATH', name);
    }
  }
  assert.throws(
    () => cleanEntryName('./a\0b'),
    (err: TarError) => err.code === 'ERR_OVL_BAD_TAR',
  );
});

names.run();
