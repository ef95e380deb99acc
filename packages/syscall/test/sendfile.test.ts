import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SyscallError, sendFileAt } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('sendfile');

function sendAll(inFd: number, inOff: number, outFd: number, outOff: number, length: number): number {
  let done = 0;
  while (done < length) {
    const n = sendFileAt(inFd, inOff + done, outFd, outOff + done, length - done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

test('copies a range at given offsets, byte for byte; the input position stays, the output one moves', () => {
  const t = tempDir();
  try {
    const src = Buffer.alloc(3 << 20);
    for (let i = 0; i < src.length; i++) src[i] = (i * 13 + (i >> 11)) & 0xff;
    writeFileSync(join(t.dir, 'in'), src);
    const inFd = openSync(join(t.dir, 'in'), 'r');
    const outFd = openSync(join(t.dir, 'out'), 'w+');
    try {
      const from = 4321;
      const length = (2 << 20) + 99;
      assert.is(sendAll(inFd, from, outFd, 1000, length), length);
      const out = readFileSync(join(t.dir, 'out'));
      assert.is(out.length, 1000 + length);
      assert.ok(out.subarray(0, 1000).equals(Buffer.alloc(1000)), 'a hole before the out offset');
      assert.ok(out.subarray(1000).equals(src.subarray(from, from + length)), 'the bytes of the range');
      // The input's position was never moved: a plain read starts at 0.
      const head = Buffer.alloc(16);
      readSync(inFd, head, 0, 16, null);
      assert.ok(head.equals(src.subarray(0, 16)), 'the input file position moved');
      // Past the input's end: 0, not an error (a truncated layer file).
      assert.is(sendFileAt(inFd, src.length, outFd, 0, 4096), 0);
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
    sendFileAt(987654, 0, 987655, 0, 10);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).code, 'EBADF');
    assert.match((e as Error).message, 'fd 987654 at 0');
  }
});

test('across file systems (a disk file onto tmpfs, where copy_file_range may say EXDEV), sendfile copies', () => {
  if (!existsSync('/dev/shm')) {
    console.log('  skipped: no /dev/shm');
    return;
  }
  const disk = tempDir();
  const shm = { dir: mkdtempSync('/dev/shm/ovl-syscall-'), remove: () => {} };
  shm.remove = () => rmSync(shm.dir, { recursive: true, force: true });
  try {
    const src = Buffer.alloc(1 << 20, 0x5a);
    writeFileSync(join(disk.dir, 'in'), src);
    const inFd = openSync(join(disk.dir, 'in'), 'r');
    const outFd = openSync(join(shm.dir, 'out'), 'w');
    try {
      assert.is(sendAll(inFd, 0, outFd, 0, src.length), src.length);
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
    assert.ok(readFileSync(join(shm.dir, 'out')).equals(src));
  } finally {
    disk.remove();
    shm.remove();
  }
});

test.run();
