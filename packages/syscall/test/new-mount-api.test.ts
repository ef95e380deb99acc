import { closeSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AT_FDCWD,
  fsconfigCreate,
  fsconfigSetString,
  fsmount,
  fsopen,
  hasNewMountApi,
  isMountpoint,
  MOVE_MOUNT_F_EMPTY_PATH,
  moveMount,
  probeOverlayFeatures,
  SyscallError,
  statfs,
  umount2,
} from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = release().split('.').map(Number) as [number, number];
  return a > major || (a === major && b >= minor);
}

const test = suite('new mount API');
test('tmpfs through fsopen → fsconfig → fsmount → move_mount', () => {
  if (!isRoot) return console.log('  skip: needs root');
  if (!hasNewMountApi()) return console.log('  skip: kernel without fsopen');
  const t = tempDir();
  const target = join(t.dir, 'm');
  mkdirSync(target);
  const fsfd = fsopen('tmpfs');
  try {
    fsconfigSetString(fsfd, 'size', '1m');
    fsconfigSetString(fsfd, 'mode', '0711');
    fsconfigCreate(fsfd);
    const mnt = fsmount(fsfd);
    try {
      moveMount(mnt, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
    } finally {
      closeSync(mnt);
    }
    try {
      assert.ok(isMountpoint(target));
      assert.is(statfs(target).fsName, 'tmpfs');
      assert.is(statSync(target).mode & 0o777, 0o711);
    } finally {
      umount2(target);
    }
  } finally {
    closeSync(fsfd);
    t.remove();
  }
});
test('an unknown parameter fails with the kernel log in the message', () => {
  if (!isRoot) return console.log('  skip: needs root');
  if (!hasNewMountApi()) return console.log('  skip: kernel without fsopen');
  const legacy = !kernelAtLeast(6, 5); // before 6.5 the legacy shim takes any key until CMD_CREATE
  const fsfd = fsopen('overlay');
  try {
    fsconfigSetString(fsfd, 'no_such_option', 'x');
    if (!legacy) assert.unreachable('accepted an unknown parameter');
    fsconfigCreate(fsfd);
    assert.unreachable('created an overlay from an unknown parameter');
  } catch (e) {
    assert.instance(e, SyscallError);
    const err = e as SyscallError;
    assert.is(err.code, 'EINVAL');
    assert.is(err.syscall, 'fsconfig');
    if (legacy) {
      assert.match(err.message, 'CMD_CREATE');
      return console.log(`  legacy fsconfig parser on ${release()}: refused at CMD_CREATE`);
    }
    assert.match(err.message, 'SET_STRING "no_such_option=x"');
    assert.match(err.message, "Unknown parameter 'no_such_option'");
  } finally {
    closeSync(fsfd);
  }
});
test('fsopen of an unknown type is ENODEV with a modprobe hint', () => {
  if (!isRoot) return console.log('  skip: needs root');
  if (!hasNewMountApi()) return console.log('  skip: kernel without fsopen');
  try {
    fsopen('no-such-fs');
    assert.unreachable();
  } catch (e) {
    assert.is((e as SyscallError).code, 'ENODEV');
    assert.match((e as Error).message, 'modprobe');
  }
});
test('overlay features match the running kernel version (lowerdir+ 6.8+, SET_FD 6.13+)', () => {
  if (!isRoot) return console.log('  skip: needs root (the probe opens an overlay context)');
  const f = probeOverlayFeatures();
  // Distribution kernels can backport, but none we test on does; a mismatch means the probe lies.
  assert.is(f.lowerdirPlus, kernelAtLeast(6, 8), `lowerdir+ on ${release()}`);
  assert.is(f.setFd, kernelAtLeast(6, 13), `FSCONFIG_SET_FD on ${release()}`);
});
test('overlay features: SET_FD implies lowerdir+, which implies the API; an overlay reports "overlay"', () => {
  const f = probeOverlayFeatures();
  if (f.setFd) assert.ok(f.lowerdirPlus);
  if (f.lowerdirPlus) assert.ok(hasNewMountApi());
  if (!isRoot || !f.lowerdirPlus) return console.log('  skip mount part: needs root and lowerdir+');
  const t = tempDir();
  const [a, b, m] = ['a', 'b', 'm'].map((d) => join(t.dir, d)) as [string, string, string];
  for (const d of [a, b, m]) mkdirSync(d);
  writeFileSync(join(a, 'x'), 'x');
  const fsfd = fsopen('overlay');
  try {
    fsconfigSetString(fsfd, 'lowerdir+', a);
    fsconfigSetString(fsfd, 'lowerdir+', b);
    fsconfigCreate(fsfd);
    const mnt = fsmount(fsfd);
    moveMount(mnt, '', AT_FDCWD, m, MOVE_MOUNT_F_EMPTY_PATH);
    closeSync(mnt);
    try {
      assert.is(statfs(m).fsName, 'overlay');
    } finally {
      umount2(m);
    }
  } finally {
    closeSync(fsfd);
    t.remove();
  }
});
test.run();
