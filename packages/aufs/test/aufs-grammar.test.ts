// The checker the other tests rely on must itself accept what aufs accepts and refuse what it refuses.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AufsGrammarError,
  AufsKernelModel,
  MS_REMOUNT,
  parseAufsData,
  splitOptions,
} from './aufs-grammar.js';

const Parse = suite('aufs grammar: accepted data');

Parse('the seed first mount with xino, dio, dirperm1 and a label', () => {
  const data =
    'br:/d/diff/c=rw:/d/diff/b=ro+wh:/d/diff/a=ro+wh,dio,xino=/dev/shm/aufs.xino,dirperm1,' +
    'context="system_u:object_r:svirt_sandbox_file_t:s0:c1,c2"';
  const p = parseAufsData(data, { remount: false });
  assert.equal(p.br, [
    { path: '/d/diff/c', perm: 'rw' },
    { path: '/d/diff/b', perm: 'ro+wh' },
    { path: '/d/diff/a', perm: 'ro+wh' },
  ]);
  assert.is(p.xino, '/dev/shm/aufs.xino');
  assert.equal(p.flags, ['dio', 'dirperm1']);
  assert.is(p.label, 'system_u:object_r:svirt_sandbox_file_t:s0:c1,c2');
});

Parse('br= and append= spellings, several appends in one remount', () => {
  assert.equal(parseAufsData('br=/a=rw', { remount: false }).br, [{ path: '/a', perm: 'rw' }]);
  const p = parseAufsData('append:/b=ro+wh,append=/c=ro', { remount: true });
  assert.equal(p.appends, [
    { path: '/b', perm: 'ro+wh' },
    { path: '/c', perm: 'ro' },
  ]);
});

Parse('quoted commas do not split options', () => {
  assert.equal(splitOptions('a,context="x:y,z",b'), ['a', 'context="x:y,z"', 'b']);
});

Parse('data of page size - 1 bytes fits', () => {
  const head = 'br:/a=rw:/';
  const data = `${head}${'x'.repeat(4095 - head.length - 6)}=ro+wh`;
  assert.is(data.length, 4095);
  parseAufsData(data, { remount: false });
});

const Reject = suite('aufs grammar: refused data');

const bad: Array<[string, string, boolean]> = [
  ['branch without permission', 'br:/a=rw:/b', false],
  ['unknown permission', 'br:/a=rw:/b=ro+xx', false],
  ['unknown option', 'br:/a=rw,foo', false],
  ['append on a first mount', 'br:/a=rw,append:/b=ro+wh', false],
  ['no br on a first mount', 'xino=/dev/shm/x,dio', false],
  ['relative branch', 'br:a=rw', false],
  ['empty option', 'br:/a=rw,,dio', false],
  ['trailing comma', 'br:/a=rw,', false],
  ['flag with value', 'br:/a=rw,dio=1', false],
  ['xino without value', 'br:/a=rw,xino', false],
  ['relative xino', 'br:/a=rw,xino=x', false],
  ['xino twice', 'br:/a=rw,xino=/x,xino=/y', false],
  ['unquoted label', 'br:/a=rw,context=x', false],
  ['unterminated label', 'br:/a=rw,context="x', false],
  ['ro top branch', 'br:/a=ro+wh', false],
  ['append of two branches', 'append:/a=ro+wh:/b=ro+wh', true],
  ['append without branch', 'append:', true],
  ['empty branch', 'br:/a=rw::/b=ro', false],
];
for (const [what, data, remount] of bad) {
  Reject(what, () => {
    assert.throws(
      () => parseAufsData(data, { remount }),
      (e: unknown) => e instanceof AufsGrammarError,
    );
  });
}

Reject('data of page size bytes is truncated by the kernel, so refused', () => {
  const head = 'br:/a=rw:/';
  const data = `${head}${'x'.repeat(4096 - head.length - 6)}=ro+wh`;
  assert.is(data.length, 4096);
  assert.throws(() => parseAufsData(data, { remount: false }), /do not fit a 4096-byte page/);
  parseAufsData(data, { remount: false, pageSize: 16384 });
});

const Model = suite('aufs kernel model');

Model('mount then append-remounts build the stack in order', () => {
  const k = new AufsKernelModel();
  k.mount({ source: 'none', target: '/m', fstype: 'aufs', flags: 0, data: 'br:/c=rw:/b=ro+wh' });
  k.mount({ source: 'none', target: '/m', fstype: 'aufs', flags: MS_REMOUNT, data: 'append:/a=ro+wh' });
  assert.equal(k.stack('/m'), ['/c', '/b', '/a']);
  k.umount('/m');
  assert.throws(() => k.stack('/m'));
});

Model('refuses a duplicated branch, a remount of nothing, a second mount, another fstype', () => {
  const k = new AufsKernelModel();
  const m = (flags: number, data: string, fstype = 'aufs') =>
    k.mount({ source: 'none', target: '/m', fstype, flags, data });
  assert.throws(() => m(MS_REMOUNT, 'append:/a=ro+wh'), /not mounted/);
  assert.throws(() => m(0, 'br:/a=rw', 'overlay'), /not aufs/);
  m(0, 'br:/c=rw:/b=ro+wh');
  assert.throws(() => m(0, 'br:/x=rw'), /already/);
  assert.throws(() => m(MS_REMOUNT, 'append:/b=ro+wh'), /duplicated/);
  assert.equal(k.stack('/m'), ['/c', '/b']);
});

Model('a remount may not change the label of the mount', () => {
  const k = new AufsKernelModel();
  k.mount({ source: 'none', target: '/m', fstype: 'aufs', flags: 0, data: 'br:/c=rw,context="l"' });
  assert.throws(() =>
    k.mount({
      source: 'none',
      target: '/m',
      fstype: 'aufs',
      flags: MS_REMOUNT,
      data: 'append:/a=ro+wh,context="other"',
    }),
  );
  k.mount({
    source: 'none',
    target: '/m',
    fstype: 'aufs',
    flags: MS_REMOUNT,
    data: 'append:/a=ro+wh,context="l"',
  });
  assert.equal(k.stack('/m'), ['/c', '/a']);
});

Parse.run();
Reject.run();
Model.run();
