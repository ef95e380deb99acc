import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanAbsolutePath, parseBool, parseDriverOptions } from '../src/index.js';
import { throwsCode } from './helpers.js';

const opts = suite('parseDriverOptions');
opts('defaults', () => {
  assert.equal(parseDriverOptions([]), {
    driver: 'overlay',
    imageStores: [],
    overrideKernelCheck: false,
    mountOptions: [],
  });
});
opts('every overlay key, in both spellings', () => {
  const o = parseDriverOptions([
    'overlay.size=10G',
    'overlay2.imagestore=/a,/b//c/',
    'overlay.override_kernel_check=true',
    'overlay2.mountopt=nodev,metacopy=on',
    'overlay.mount_program=/usr/bin/fuse-overlayfs',
    'overlay.userxattr=1',
    'OVERLAY2.Skip_Mount_Home = false',
  ]);
  assert.equal(o, {
    driver: 'overlay',
    size: 10 * 2 ** 30,
    imageStores: ['/a', '/b/c'],
    overrideKernelCheck: true,
    mountOptions: ['nodev', 'metacopy=on'],
    mountProgram: '/usr/bin/fuse-overlayfs',
    userxattr: true,
    skipMountHome: false,
  });
});
opts('aufs keys', () => {
  assert.equal(parseDriverOptions(['aufs.dirperm1=true', 'aufs.xino=/run/x'], 'aufs'), {
    driver: 'aufs',
    imageStores: [],
    overrideKernelCheck: false,
    mountOptions: [],
    dirperm1: true,
    xino: '/run/x',
  });
});
for (const [input, key, driver] of [
  ['overlay.sise=10G', 'overlay.sise', 'overlay'],
  ['dm.basesize=10G', 'dm.basesize', 'overlay'],
  ['overlay.size=10G', 'overlay.size', 'aufs'],
  ['aufs.size=1', 'aufs.size', 'aufs'],
] as const) {
  opts(`unknown key ${input} (${driver}) is an error naming the key`, () => {
    const e = throwsCode(() => parseDriverOptions([input], driver), 'ERR_OVL_BAD_OPTION');
    assert.is(e.option, key);
    assert.match(e.message, key);
  });
}
for (const [input, key] of [
  ['overlay.size', 'overlay.size'],
  ['overlay.size=ten', 'size'],
  ['overlay.imagestore=relative/store', 'overlay.imagestore'],
  ['overlay.imagestore=/a,,/b', 'overlay.imagestore'],
  ['overlay.override_kernel_check=yes', 'overlay.override_kernel_check'],
  ['overlay.mount_program=fuse-overlayfs', 'overlay.mount_program'],
] as const) {
  opts(`bad value: ${input}`, () => {
    assert.is(throwsCode(() => parseDriverOptions([input]), 'ERR_OVL_BAD_OPTION').option, key);
  });
}
opts.run();

const helpers = suite('parseBool, cleanAbsolutePath');
helpers('Go ParseBool spellings', () => {
  for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.is(parseBool('k', t), true);
  for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.is(parseBool('k', f), false);
  throwsCode(() => parseBool('k', 'yes'), 'ERR_OVL_BAD_OPTION');
});
helpers('filepath.Clean for absolute paths', () => {
  assert.is(cleanAbsolutePath('/a//b/./c/../d/'), '/a/b/d');
  assert.is(cleanAbsolutePath('/../..'), '/');
  assert.is(cleanAbsolutePath('/'), '/');
});
helpers.run();
