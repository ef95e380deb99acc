// Without aufs in the kernel, the driver refuses to start and says what to use instead.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecordingSyscalls } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AufsDriver, assertAufsSupported, isAufsError, listsAufs } from '../src/index.js';

const Support = suite('aufs support check');

let dir = '';
Support.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ovl-aufs-support-'));
});
Support.after(() => rmSync(dir, { recursive: true, force: true }));

const WITHOUT = 'nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\nnodev\tfuse\n';
const WITH = `${WITHOUT}nodev\taufs\n`;

Support('listsAufs reads /proc/filesystems lines', () => {
  assert.ok(listsAufs(WITH));
  assert.not.ok(listsAufs(WITHOUT));
  assert.not.ok(listsAufs('nodev\taufsx\n'));
});

Support('a kernel without aufs: ERR_OVL_NOT_SUPPORTED naming the overlay driver', async () => {
  const file = join(dir, 'filesystems-without');
  writeFileSync(file, WITHOUT);
  try {
    await assertAufsSupported({ modprobe: false, procFilesystems: file });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.ok(isAufsError(e, 'ERR_OVL_NOT_SUPPORTED'), String(e));
    assert.match((e as Error).message, /aufs is not available in this kernel/);
    assert.match((e as Error).message, /use the overlay driver \(@ovl\/overlay\) instead/);
    assert.is((e as { path?: string }).path, file);
  }
  const missing = join(dir, 'no-such-file');
  try {
    await assertAufsSupported({ modprobe: false, procFilesystems: missing });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.ok(isAufsError(e, 'ERR_OVL_NOT_SUPPORTED'));
    assert.is(((e as Error).cause as { code?: string }).code, 'ENOENT');
  }
});

Support('a kernel with aufs passes; init then opens the layout', async () => {
  const file = join(dir, 'filesystems-with');
  writeFileSync(file, WITH);
  await assertAufsSupported({ modprobe: false, procFilesystems: file });
  const home = join(dir, 'home-ok');
  const { syscalls } = createRecordingSyscalls();
  const driver = await AufsDriver.init(home, { procFilesystems: file, syscalls, dirperm1: false });
  assert.is(driver.name, 'aufs');
  for (const d of ['layers', 'diff', 'mnt']) assert.ok(existsSync(join(home, d)), d);
});

Support('init on this machine', async () => {
  if (listsAufs(readFileSync('/proc/filesystems', 'utf8'))) {
    console.log('support: this kernel has aufs; the refusal on a real kernel is not exercised');
    return;
  }
  const home = join(dir, 'home-real');
  try {
    await AufsDriver.init(home);
    assert.unreachable('this kernel has no aufs');
  } catch (e) {
    assert.ok(isAufsError(e, 'ERR_OVL_NOT_SUPPORTED'), String(e));
    assert.match((e as Error).message, /@ovl\/overlay/);
  }
  assert.not.ok(existsSync(home), 'nothing created on a kernel that cannot use it');
});

Support.run();
