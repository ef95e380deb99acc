// Project IDs and project quotas on xfs file systems made here (mkfs.xfs on a sparse file,
// loop-mounted), with and without -o prjquota.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FS_XFLAG_PROJINHERIT,
  fsGetXattr,
  getProjectId,
  getProjectQuota,
  getQuotaState,
  readMountinfo,
  SyscallError,
  setProjectId,
  setProjectQuota,
} from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';

const test = suite('xfs project quotas');
const MiB = 1 << 20;

/** An xfs file system loop-mounted with `options`, or why there cannot be one here. */
function xfs(options: string): { dir: string; dev: string; done: () => void } | { skip: string } {
  if (!isRoot) return { skip: 'loop mounts need root' };
  const t = tempDir('ovl-syscall-xfs-');
  const img = join(t.dir, 'xfs.img');
  const dir = join(t.dir, 'mnt');
  mkdirSync(dir);
  closeSync(openSync(img, 'w'));
  truncateSync(img, 320 * MiB);
  const mkfs = spawnSync('mkfs.xfs', ['-q', img], { encoding: 'utf8' });
  const opts = ['loop', ...(options ? [options] : [])].join(',');
  const m =
    mkfs.status === 0 ? spawnSync('mount', ['-t', 'xfs', '-o', opts, img, dir], { encoding: 'utf8' }) : mkfs;
  if (m.status !== 0) {
    t.remove();
    const log = (spawnSync('dmesg', { encoding: 'utf8' }).stdout ?? '').split('\n');
    const said = log.filter((l) => /XFS \(loop\d+\)/.test(l)).pop();
    return { skip: `mount -o ${opts} of an xfs image: ${said ?? m.error?.message ?? m.stderr}` };
  }
  const dev = readMountinfo().find((x) => x.mountPoint === dir)?.source ?? '';
  return {
    dir,
    dev,
    done: () => {
      spawnSync('umount', ['-l', dir]);
      t.remove();
    },
  };
}

test('a project ID with PROJINHERIT is set, read back and inherited', () => {
  const fs = xfs('');
  if ('skip' in fs) return console.log(`skip: ${fs.skip}`);
  try {
    const dir = join(fs.dir, 'layer');
    mkdirSync(dir);
    assert.is(getProjectId(dir), 0);
    setProjectId(dir, 4242);
    const attr = fsGetXattr(dir);
    assert.is(attr.projid, 4242);
    assert.ok(attr.xflags & FS_XFLAG_PROJINHERIT);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'f'), 'x');
    assert.is(getProjectId(join(dir, 'sub')), 4242);
    setProjectId(dir, 0, false);
    assert.is(fsGetXattr(dir).xflags & FS_XFLAG_PROJINHERIT, 0);
  } finally {
    fs.done();
  }
});

test('xfs without prjquota: quotactl fails with a SyscallError that says to mount with -o prjquota', () => {
  const fs = xfs('');
  if ('skip' in fs) return console.log(`skip: ${fs.skip}`);
  try {
    let err: unknown;
    try {
      setProjectQuota(fs.dev, 4242, { blockHardLimit: MiB });
    } catch (e) {
      err = e;
    }
    assert.instance(err, SyscallError);
    const e = err as SyscallError;
    assert.is(e.syscall, 'quotactl');
    assert.is(e.path, fs.dev);
    assert.ok(['ENOSYS', 'ESRCH', 'EINVAL'].includes(e.code), e.code);
    assert.match(e.message, /-o prjquota/);
  } finally {
    fs.done();
  }
});

test('xfs with prjquota: limits set and read back, usage counted, state on', () => {
  const fs = xfs('prjquota');
  if ('skip' in fs) return console.log(`skip: ${fs.skip}`);
  try {
    assert.equal(getQuotaState(fs.dev), { projectAccounting: true, projectEnforcement: true });
    const dir = join(fs.dir, 'p');
    mkdirSync(dir);
    setProjectId(dir, 77);
    setProjectQuota(fs.dev, 77, {
      blockHardLimit: 8 * MiB + 100,
      blockSoftLimit: 4 * MiB,
      inodeHardLimit: 50,
    });
    writeFileSync(join(dir, 'one-mib'), Buffer.alloc(MiB, 1));
    spawnSync('sync');
    const q = getProjectQuota(fs.dev, 77);
    assert.is(q.projectId, 77);
    assert.is(q.blockHardLimit, 8 * MiB); // rounded down to 512-byte blocks
    assert.is(q.blockSoftLimit, 4 * MiB);
    assert.is(q.inodeHardLimit, 50);
    assert.ok(q.blocksUsed >= MiB, `blocksUsed ${q.blocksUsed}`);
    assert.ok(q.inodesUsed >= 2, `inodesUsed ${q.inodesUsed}`); // the dir and the file
    setProjectQuota(fs.dev, 77, { blockHardLimit: 0, blockSoftLimit: 0, inodeHardLimit: 0 });
    assert.is(getProjectQuota(fs.dev, 77).blockHardLimit, 0);
    assert.is(getProjectQuota(fs.dev, 999_999).blockHardLimit, 0); // nothing held: all zeros
  } finally {
    fs.done();
  }
});

test.run();
