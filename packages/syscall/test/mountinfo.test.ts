import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isMountpoint, mount, parseMountinfo, readMountinfo, umount2 } from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';

const parse = suite('parseMountinfo');
parse('reads every field and decodes octal escapes', () => {
  const text = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,errors=remount-ro',
    '98 22 0:45 /sub /mnt/with\\040space\\011tab rw,nosuid,nodev shared:50 master:3 - tmpfs my\\040src rw,size=1024k',
    '120 22 0:60 / /var/lib/ovl/x/merged rw,relatime - overlay overlay rw,lowerdir=/l/a\\,b:/l/c,upperdir=/u,workdir=/w,uuid=on',
    '',
  ].join('\n');
  const [root, spaced, ovl] = parseMountinfo(text);
  assert.equal(root, {
    mountId: 22,
    parentId: 1,
    major: 254,
    minor: 0,
    root: '/',
    mountPoint: '/',
    options: ['rw', 'relatime'],
    optionalFields: ['shared:1'],
    fstype: 'ext4',
    source: '/dev/vda',
    superOptions: ['rw', 'errors=remount-ro'],
  });
  assert.is(spaced?.mountPoint, '/mnt/with space\ttab');
  assert.is(spaced?.root, '/sub');
  assert.is(spaced?.source, 'my src');
  assert.equal(spaced?.optionalFields, ['shared:50', 'master:3']);
  assert.equal(ovl?.superOptions, ['rw', 'lowerdir=/l/a\\,b:/l/c', 'upperdir=/u', 'workdir=/w', 'uuid=on']);
});
parse('/proc/self/mountinfo has / and /proc', () => {
  const all = readMountinfo();
  assert.ok(all.some((m) => m.mountPoint === '/'));
  assert.ok(all.some((m) => m.mountPoint === '/proc' && m.fstype === 'proc'));
  assert.ok(all.every((m) => Number.isInteger(m.mountId) && m.mountId > 0));
});
parse.run();

const mp = suite('isMountpoint');
mp('true for / and /proc, false for a plain directory and a missing path', () => {
  assert.ok(isMountpoint('/'));
  assert.ok(isMountpoint('/proc'));
  assert.ok(!isMountpoint('/proc/self/..//..//etc'));
  assert.ok(!isMountpoint('/nonexistent/ovl'));
});
mp('sees a tmpfs mounted on a path with a space and a tab (as root)', () => {
  if (!isRoot) return console.log('  skip: mount needs root');
  const t = tempDir();
  const target = join(t.dir, 'with space\tand tab');
  mkdirSync(target);
  try {
    assert.ok(!isMountpoint(target));
    mount('ovl test src', target, 'tmpfs', 0, 'size=1m');
    try {
      assert.ok(isMountpoint(target));
      assert.ok(isMountpoint(`${target}/`));
      const rec = readMountinfo().find((m) => m.mountPoint === target);
      assert.is(rec?.fstype, 'tmpfs');
      assert.is(rec?.source, 'ovl test src');
      assert.ok(rec?.superOptions.includes('size=1024k'));
    } finally {
      umount2(target);
    }
    assert.ok(!isMountpoint(target));
  } finally {
    t.remove();
  }
});
mp.run();
