import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { flock, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, SyscallError } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('flock');

test('two open descriptions of one file exclude each other; unlock lets the other in', () => {
  const t = tempDir();
  const path = join(t.dir, 'lock');
  const a = openSync(path, 'a');
  const b = openSync(path, 'a');
  try {
    assert.is(flock(a, LOCK_EX | LOCK_NB), true);
    assert.is(flock(b, LOCK_EX | LOCK_NB), false, 'busy is false, not an error');
    assert.is(flock(b, LOCK_SH | LOCK_NB), false, 'no shared lock beside an exclusive one');
    assert.is(flock(a, LOCK_UN), true);
    assert.is(flock(b, LOCK_EX | LOCK_NB), true);
  } finally {
    closeSync(a);
    closeSync(b);
    t.remove();
  }
});

test('closing the descriptor releases the lock (what a killed holder does)', () => {
  const t = tempDir();
  const path = join(t.dir, 'lock');
  const a = openSync(path, 'a');
  const b = openSync(path, 'a');
  try {
    assert.ok(flock(a, LOCK_EX | LOCK_NB));
    closeSync(a);
    assert.ok(flock(b, LOCK_EX | LOCK_NB));
  } finally {
    closeSync(b);
    t.remove();
  }
});

test('a bad descriptor is a SyscallError EBADF naming the path', () => {
  try {
    flock(987654, LOCK_EX | LOCK_NB, '/some/lock');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).code, 'EBADF');
    assert.is((e as SyscallError).syscall, 'flock');
    assert.is((e as SyscallError).path, '/some/lock');
  }
});

test.run();
