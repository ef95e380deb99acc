import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileRange, SyscallError } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('copy_file_range');

function copyAll(inFd: number, inOff: number, outFd: number, outOff: number, length: number): number {
  let done = 0;
  while (done < length) {
    const n = copyFileRange(inFd, inOff + done, outFd, outOff + done, length - done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

test('copies a range at given offsets, byte for byte, without moving file positions', () => {
  const t = tempDir();
  try {
    const src = Buffer.alloc(3 << 20);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7 + (i >> 12)) & 0xff;
    writeFileSync(join(t.dir, 'in'), src);
    const inFd = openSync(join(t.dir, 'in'), 'r');
    const outFd = openSync(join(t.dir, 'out'), 'w+');
    try {
      const from = 12345;
      const length = (2 << 20) + 77;
      assert.is(copyAll(inFd, from, outFd, 512, length), length);
      const out = readFileSync(join(t.dir, 'out'));
      assert.is(out.length, 512 + length);
      assert.ok(out.subarray(0, 512).equals(Buffer.alloc(512)), 'a hole before the out offset');
      assert.ok(out.subarray(512).equals(src.subarray(from, from + length)), 'the bytes of the range');
      // past the input's end: 0, not an error (a truncated layer file)
      assert.is(copyFileRange(inFd, src.length, outFd, 0, 4096), 0);
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
  } finally {
    t.remove();
  }
});

test('a bad descriptor is a SyscallError EBADF saying what was copied', () => {
  try {
    copyFileRange(987654, 0, 987655, 0, 10);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).code, 'EBADF');
    assert.is((e as SyscallError).syscall, 'copy_file_range');
    assert.match((e as Error).message, 'fd 987654 at 0');
  }
});

test.run();
