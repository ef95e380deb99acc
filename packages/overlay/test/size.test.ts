// `size`: xfs project quotas on real loop-mounted xfs file systems (made here with mkfs.xfs), the
// refusals off xfs and without prjquota, and the project-ID bookkeeping against recorded syscalls.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  createRecordingSyscalls,
  getProjectId,
  getProjectQuota,
  MNT_DETACH,
  mount,
  readMountinfo,
  setProjectId,
  umount2,
} from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayDriver } from '../src/index.js';
import { rejects, skipUnlessRoot, tempHome } from './helpers.js';

const test = suite('overlay driver: size (xfs project quotas)');
const MiB = 1 << 20;

/** An xfs file system in a sparse file, loop-mounted; or why there cannot be one here. */
function xfsLoop(options: string): { dir: string; dev: string; done: () => void } | { skip: string } {
  const t = tempHome('ovl-xfs-');
  const img = join(t.dir, 'xfs.img');
  const dir = join(t.dir, 'mnt');
  mkdirSync(dir);
  const fail = (skip: string) => {
    t.done();
    return { skip };
  };
  closeSync(openSync(img, 'w'));
  truncateSync(img, 512 * MiB); // sparse; mkfs.xfs wants 300 MB at least
  const mkfs = spawnSync('mkfs.xfs', ['-q', img], { encoding: 'utf8' });
  if (mkfs.error || mkfs.status !== 0)
    return fail(`mkfs.xfs failed (${mkfs.error?.message ?? mkfs.stderr.trim()}); apt-get install xfsprogs`);
  const opts = ['loop', ...(options ? [options] : [])].join(',');
  const m = spawnSync('mount', ['-t', 'xfs', '-o', opts, img, dir], { encoding: 'utf8' });
  if (m.status !== 0) {
    // the kernel says why in its log: "XFS (loop0): quota support not available in this kernel."
    const log = spawnSync('dmesg', { encoding: 'utf8' }).stdout ?? '';
    const said = log
      .split('\n')
      .filter((l) => /XFS \(loop\d+\)/.test(l))
      .pop();
    return fail(
      `mount -o ${opts} of an xfs image failed: ${said?.replace(/^\[[^\]]*\]\s*/, '') ?? m.stderr.trim()}`,
    );
  }
  return {
    dir,
    dev: readMountinfo().find((x) => x.mountPoint === dir)?.source ?? '',
    done: () => {
      spawnSync('umount', ['-l', dir]);
      t.done();
    },
  };
}

/** Writes 1 MiB chunks to `file` until the kernel refuses or `max` is reached; bytes written and the error. */
function fill(file: string, max: number): { bytes: number; code?: string } {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(MiB, 0x5a);
  let bytes = 0;
  try {
    while (bytes < max) bytes += writeSync(fd, chunk, 0, Math.min(chunk.length, max - bytes));
    return { bytes };
  } catch (err) {
    return { bytes, code: (err as NodeJS.ErrnoException).code ?? 'unknown' };
  } finally {
    closeSync(fd);
  }
}

async function eventually(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    spawnSync('sync');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.unreachable(`${what}: still not so after 200 tries`);
}

test('prjquota xfs: a 20M layer stops taking writes at 20 MiB (ENOSPC), an unlimited one does not, remove frees the project', async () => {
  if (skipUnlessRoot('size on xfs')) return;
  const fs = xfsLoop('prjquota');
  if ('skip' in fs) return console.log(`skip: size on xfs: ${fs.skip}`);
  try {
    const home = join(fs.dir, 'store');
    const d = await OverlayDriver.init(home);
    assert.match(Object.fromEntries(await d.status())['Project quotas'] ?? '', /^true \(xfs on /);
    await d.create('base');
    await d.createReadWrite('limited', 'base', { storageOpt: { size: '20M' } });
    await d.createReadWrite('free', 'base');
    const q = await d.layerQuota('limited');
    assert.ok(q, 'limited layer has a project');
    assert.is(q?.blockHardLimit, 20 * MiB);
    assert.is(q?.blockSoftLimit, 20 * MiB);
    const projid = q?.projectId ?? 0;
    for (const sub of ['', 'diff', 'work', 'merged'])
      assert.is(getProjectId(join(home, 'limited', sub)), projid);
    assert.is(await d.layerQuota('free'), undefined);

    const limited = await d.get('limited');
    const w = fill(join(limited, 'fill'), 64 * MiB);
    console.log(`  limited layer took ${(w.bytes / MiB).toFixed(2)} MiB, then ${w.code}`);
    // xfs reports a project over its limit as a full file system (ENOSPC), user/group quotas as EDQUOT
    assert.ok(w.code === 'ENOSPC' || w.code === 'EDQUOT', `stopped by ${w.code}`);
    assert.ok(w.bytes >= 19 * MiB && w.bytes <= 21 * MiB, `wrote ${w.bytes} bytes`);
    const used = (await d.layerQuota('limited'))?.blocksUsed ?? 0;
    assert.ok(used >= 19 * MiB && used <= 21 * MiB, `project counts ${used} bytes`);

    const free = await d.get('free');
    const f = fill(join(free, 'fill'), 40 * MiB);
    assert.equal(f, { bytes: 40 * MiB });
    await d.put('free');
    await d.put('limited');

    // another driver on the store picks up where the first left off
    const d2 = await OverlayDriver.init(home, { driverOptions: ['overlay.size=5M'] });
    await d2.createReadWrite('second', 'base');
    const q2 = await d2.layerQuota('second');
    assert.ok(q2 && q2.projectId > projid, `second project ${q2?.projectId} after ${projid}`);
    assert.is(q2?.blockHardLimit, 5 * MiB);
    await d2.createReadWrite('unlimited', 'base', { storageOpt: { size: '0' } }); // per-layer wins
    assert.is(await d2.layerQuota('unlimited'), undefined);
    await d2.create('image', 'base'); // the default is for container layers only
    assert.is(await d2.layerQuota('image'), undefined);

    // applyDiff keeps the layer's project (the staged diff is given it before the tar goes in)
    const src = join(fs.dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'two-mib'), Buffer.alloc(2 * MiB, 1));
    const tar = spawnSync('tar', ['-C', src, '-cf', '-', '.'], { maxBuffer: 8 * MiB });
    await d2.applyDiff('second', 'base', Readable.from([tar.stdout]));
    assert.is(getProjectId(join(home, 'second', 'diff')), q2?.projectId);
    assert.is(getProjectId(join(home, 'second', 'diff', 'two-mib')), q2?.projectId);
    await eventually(
      'applied files counted',
      () => getProjectQuota(fs.dev, q2?.projectId ?? 0).blocksUsed >= 2 * MiB,
    );

    await d.remove('limited');
    assert.not.ok(existsSync(join(home, 'limited')));
    await eventually('project of the removed layer freed', () => {
      const left = getProjectQuota(fs.dev, projid);
      return left.blockHardLimit === 0 && left.blockSoftLimit === 0 && left.blocksUsed === 0;
    });
    for (const id of ['second', 'unlimited', 'image', 'free', 'base']) await d2.remove(id);
  } finally {
    fs.done();
  }
});

test('prjquota xfs, a home with its own project (xfs_quota project -s): IDs above it, remove still renames', async () => {
  if (skipUnlessRoot('size on xfs')) return;
  const fs = xfsLoop('prjquota');
  if ('skip' in fs) return console.log(`skip: size on xfs with a home project: ${fs.skip}`);
  try {
    const home = join(fs.dir, 'store');
    mkdirSync(home);
    setProjectId(home, 100_000); // with PROJINHERIT, as `xfs_quota -x -c 'project -s'` leaves it
    const d = await OverlayDriver.init(home, { driverOptions: ['overlay.size=2M'] });
    await d.createReadWrite('ctr');
    await d.createReadWrite('ctr2');
    await d.create('img'); // inherits the home's project: not a limited layer
    assert.is((await d.layerQuota('ctr'))?.projectId, 100_001);
    assert.is((await d.layerQuota('ctr2'))?.projectId, 100_002);
    assert.is(getProjectId(join(home, 'img')), 100_000);
    assert.is(await d.layerQuota('img'), undefined);
    const w = fill(join(await d.get('ctr'), 'fill'), 8 * MiB); // a base layer: get gives its diff
    assert.ok(w.bytes >= MiB && w.bytes <= 3 * MiB, `wrote ${w.bytes} bytes, then ${w.code}`);
    await d.put('ctr');
    await d.remove('ctr'); // would be EXDEV without handing the dir back the home's project first
    assert.not.ok(existsSync(join(home, 'ctr')));
    await eventually('project freed', () => getProjectQuota(fs.dev, 100_001).blocksUsed === 0);
    assert.is(getProjectQuota(fs.dev, 100_001).blockHardLimit, 0);
    for (const id of ['ctr2', 'img']) await d.remove(id);
  } finally {
    fs.done();
  }
});

test('xfs without prjquota: ERR_OVL_NOT_SUPPORTED saying to mount with -o prjquota', async () => {
  if (skipUnlessRoot('size on xfs')) return;
  const fs = xfsLoop('');
  if ('skip' in fs) return console.log(`skip: size on xfs without prjquota: ${fs.skip}`);
  try {
    const home = join(fs.dir, 'store');
    const err = await rejects(() => OverlayDriver.init(home, { driverOptions: ['overlay.size=10M'] }));
    assert.is(err.code, 'ERR_OVL_NOT_SUPPORTED');
    // with XFS quota support: "project quotas are off … mount it with -o prjquota"; without (this
    // host's kernel): ENOSYS "… XFS needs CONFIG_XFS_QUOTA"
    assert.match(err.message, /overlay\.size=10485760: .*(-o prjquota|CONFIG_XFS_QUOTA)/);
    const d = await OverlayDriver.init(home);
    await d.create('base');
    const e2 = await rejects(() => d.createReadWrite('sized', 'base', { storageOpt: { size: '1G' } }));
    assert.is(e2.code, 'ERR_OVL_NOT_SUPPORTED');
    assert.match(e2.message, /^size=1G for sized: .*(-o prjquota|CONFIG_XFS_QUOTA)/);
    assert.not.ok(await d.exists('sized'));
    assert.match(
      Object.fromEntries(await d.status())['Project quotas'] ?? '',
      /^false \(.*(prjquota|CONFIG_XFS_QUOTA)/,
    );
    await d.create('plain', 'base'); // layers without size still work
    await d.remove('plain');
  } finally {
    fs.done();
  }
});

test('off xfs (tmpfs): ERR_OVL_NOT_SUPPORTED with the reason', async () => {
  if (skipUnlessRoot('size on tmpfs')) return;
  const t = tempHome();
  try {
    mount('tmpfs', t.dir, 'tmpfs', 0, 'size=64m');
    const err = await rejects(() => OverlayDriver.init(t.dir, { driverOptions: ['overlay.size=1G'] }));
    assert.is(err.code, 'ERR_OVL_NOT_SUPPORTED');
    assert.match(
      err.message,
      /xfs project quotas, but .* is on tmpfs; put the store on xfs mounted with -o prjquota/,
    );
    const d = await OverlayDriver.init(t.dir);
    await d.create('base');
    const e2 = await rejects(() => d.create('sized', 'base', { storageOpt: { size: '1G' } }));
    assert.is(e2.code, 'ERR_OVL_NOT_SUPPORTED');
    assert.match(e2.message, /size=1G for sized: .* on tmpfs/);
    assert.match(Object.fromEntries(await d.status())['Project quotas'] ?? '', /^false \(tmpfs/);
  } finally {
    try {
      umount2(t.dir, MNT_DETACH);
    } catch {}
    t.done();
  }
});

// The bookkeeping against recorded syscalls: runs wherever root can mknod (no xfs needed).
async function recorded(opts: Parameters<typeof createRecordingSyscalls>[0], driverOptions: string[] = []) {
  const t = tempHome();
  const rec = createRecordingSyscalls({ fsName: 'xfs', ...opts });
  const d = await OverlayDriver.init(t.dir, { syscalls: rec.syscalls, driverOptions }).catch((err) => {
    t.done();
    throw err;
  });
  const limit = (id: string) => {
    const projid = rec.projectIds.get(join(t.dir, id));
    return projid === undefined ? undefined : [...rec.quotas.values()].find((q) => q.projectId === projid);
  };
  return { t, rec, d, limit };
}

test('recorded: IDs one past the last, overlay.size for createReadWrite only, per-layer size wins, remove lifts it', async () => {
  if (skipUnlessRoot('recorded size (mknod of the block device node)')) return;
  const { t, rec, d, limit } = await recorded({}, ['overlay.size=10M']);
  try {
    await d.create('base');
    await d.createReadWrite('c1', 'base');
    await d.createReadWrite('c2', 'base', { storageOpt: { size: '1G' } });
    await d.createReadWrite('c3', 'base', { storageOpt: { size: '0' } });
    await d.create('img', 'base');
    await d.create('img-sized', 'base', { storageOpt: { size: '3M' } });
    const id1 = rec.projectIds.get(join(t.dir, 'c1')) ?? 0;
    assert.ok(id1 > 10_000, `project ${id1}`);
    for (const sub of ['diff', 'work', 'merged']) assert.is(rec.projectIds.get(join(t.dir, 'c1', sub)), id1);
    assert.is(rec.projectIds.get(join(t.dir, 'c2')), id1 + 1);
    assert.is(rec.projectIds.get(join(t.dir, 'img-sized')), id1 + 2);
    assert.is(limit('c1')?.blockHardLimit, 10 * MiB);
    assert.is(limit('c1')?.blockSoftLimit, 10 * MiB);
    assert.is(limit('c2')?.blockHardLimit, 1 << 30);
    assert.is(limit('img-sized')?.blockHardLimit, 3 * MiB);
    for (const id of ['base', 'c3', 'img']) assert.is(rec.projectIds.get(join(t.dir, id)), undefined);
    assert.match(Object.fromEntries(await d.status())['Project quotas'] ?? '', /^true .*3 limited layers/);
    await d.remove('c1');
    const left = [...rec.quotas.values()].find((q) => q.projectId === id1);
    assert.is(left?.blockHardLimit, 0);
    assert.is(rec.projectIds.get(join(t.dir, 'c1')), 0); // handed back the home's project before the rename
    // a second driver on the same store continues after the highest ID in use
    const d2 = await OverlayDriver.init(t.dir, { syscalls: rec.syscalls });
    await d2.createReadWrite('c4', 'base', { storageOpt: { size: '5M' } });
    assert.is(rec.projectIds.get(join(t.dir, 'c4')), id1 + 3);
  } finally {
    t.done();
  }
});

test('recorded: a quotactl failing at create leaves no layer behind', async () => {
  if (skipUnlessRoot('recorded size (mknod of the block device node)')) return;
  const { t, d, rec } = await recorded({
    onCall: (c) =>
      c.name === 'setProjectQuota' && (c.args[2] as { blockHardLimit?: number }).blockHardLimit === 7 * MiB
        ? 'EIO'
        : undefined,
  });
  try {
    await d.create('base');
    const err = await rejects(() => d.createReadWrite('c', 'base', { storageOpt: { size: '7M' } }));
    assert.is(err.code, 'EIO');
    assert.not.ok(await d.exists('c'));
    assert.ok(rec.calls.some((c) => c.name === 'setProjectId'));
  } finally {
    t.done();
  }
});

test('recorded: quotas counted but not enforced (pqnoenforce) → ERR_OVL_NOT_SUPPORTED', async () => {
  if (skipUnlessRoot('recorded size (mknod of the block device node)')) return;
  const t = tempHome();
  try {
    const rec = createRecordingSyscalls({
      fsName: 'xfs',
      quotaState: { projectAccounting: true, projectEnforcement: false },
    });
    const err = await rejects(() =>
      OverlayDriver.init(t.dir, { syscalls: rec.syscalls, driverOptions: ['overlay.size=1G'] }),
    );
    assert.is(err.code, 'ERR_OVL_NOT_SUPPORTED');
    assert.match(err.message, /counted but not enforced .*pqnoenforce.*-o prjquota/);
  } finally {
    t.done();
  }
});

test.run();
