import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { getPipeSize, O_NONBLOCK, pipe, SyscallError, setPipeSize } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('pipe2 and the pipe capacity');

test('pipe() gives a FIFO pair: bytes written to the write end are read from the read end', () => {
  const [r, w] = pipe();
  try {
    assert.ok(fstatSync(r).isFIFO() && fstatSync(w).isFIFO(), 'both ends are FIFOs');
    assert.is.not(r, w);
    writeSync(w, Buffer.from('hello through a pipe'));
    const buf = Buffer.alloc(64);
    const n = readSync(r, buf, 0, buf.length, null);
    assert.is(buf.subarray(0, n).toString(), 'hello through a pipe');
  } finally {
    closeSync(r);
    closeSync(w);
  }
});

test('both ends are close-on-exec: a child spawned meanwhile does not inherit them', () => {
  const [r, w] = pipe();
  try {
    // The child lists its open descriptors; neither end may be among them.
    const res = spawnSync('sh', ['-c', 'ls /proc/self/fd'], { encoding: 'utf8' });
    const fds = res.stdout.split(/\s+/).filter(Boolean).map(Number);
    assert.not.ok(fds.includes(r), `read end ${r} inherited`);
    assert.not.ok(fds.includes(w), `write end ${w} inherited`);
  } finally {
    closeSync(r);
    closeSync(w);
  }
});

test('O_NONBLOCK: reading an empty pipe fails with EAGAIN instead of waiting', () => {
  const [r, w] = pipe(O_NONBLOCK);
  try {
    assert.throws(
      () => readSync(r, Buffer.alloc(8), 0, 8, null),
      (e: NodeJS.ErrnoException) => e.code === 'EAGAIN',
    );
  } finally {
    closeSync(r);
    closeSync(w);
  }
});

test('setPipeSize grows the capacity (rounded up to pages), getPipeSize reads it back', () => {
  const [r, w] = pipe();
  try {
    assert.is(getPipeSize(w), 64 << 10, 'a new pipe holds 64 KiB');
    const got = setPipeSize(w, (1 << 20) - 100);
    assert.is(got, 1 << 20, 'rounded up to 1 MiB');
    assert.is(getPipeSize(r), 1 << 20, 'one pipe: the read end sees the same capacity');
    // What the capacity means: 1 MiB fits without a reader (a non-blocking write end would say EAGAIN).
    const nb = pipe(O_NONBLOCK);
    try {
      setPipeSize(nb[1], 1 << 20);
      assert.is(writeSync(nb[1], Buffer.alloc(1 << 20, 1)), 1 << 20);
      assert.throws(
        () => writeSync(nb[1], Buffer.alloc(1)),
        (e: NodeJS.ErrnoException) => e.code === 'EAGAIN',
      );
    } finally {
      closeSync(nb[0]);
      closeSync(nb[1]);
    }
  } finally {
    closeSync(r);
    closeSync(w);
  }
});

test('errors: EBADF on a regular file or a closed descriptor, RangeError on a bad size', () => {
  const t = tempDir();
  const fd = openSync(join(t.dir, 'f'), 'w');
  try {
    assert.throws(
      () => setPipeSize(fd, 1 << 20),
      (e: unknown) => e instanceof SyscallError && e.code === 'EBADF' && e.syscall === 'fcntl',
    );
    assert.throws(() => setPipeSize(fd, -1), RangeError);
    assert.throws(() => setPipeSize(fd, 1.5), RangeError);
  } finally {
    closeSync(fd);
    t.remove();
  }
  const [r, w] = pipe();
  closeSync(r);
  closeSync(w);
  assert.throws(
    () => getPipeSize(w),
    (e: unknown) => e instanceof SyscallError && e.code === 'EBADF',
  );
});

test.run();
