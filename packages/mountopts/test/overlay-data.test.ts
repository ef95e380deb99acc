import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { overlayData, overlayOptionList, parseExtraOption, resolveOverlayOptions } from '../src/index.js';
import { throwsCode } from './helpers.js';
import { kernelParseOverlayData } from './kernel-parser.js';

const data = suite('overlayData');
for (const [name, input, want] of [
  ['read-only, two lowers', { lowers: ['/l1', '/l2'] }, 'lowerdir=/l1:/l2'],
  ['upper and work', { lowers: ['/l1'], upper: '/u', work: '/w' }, 'lowerdir=/l1,upperdir=/u,workdir=/w'],
  [
    'data-only lowers after ::',
    { lowers: ['/l1', '/l2'], dataOnlyLowers: ['/d1', '/d2'] },
    'lowerdir=/l1:/l2::/d1::/d2,metacopy=on',
  ],
  [
    'escaped paths',
    { lowers: ['/a:b', '/c,d'], upper: '/u\\x', work: '/w,1' },
    'lowerdir=/a\\:b:/c\\,d,upperdir=/u\\\\x,workdir=/w\\,1',
  ],
  [
    'every typed option, then extra, then the label',
    {
      lowers: ['/l'],
      upper: '/u',
      work: '/w',
      label: 's0:c1,c2',
      options: {
        volatile: true,
        metacopy: true,
        redirectDir: 'on',
        index: 'off',
        xino: 'auto',
        extra: ['nfs_export=off', 'default_permissions'],
      },
    },
    'lowerdir=/l,upperdir=/u,workdir=/w,volatile,metacopy=on,redirect_dir=on,index=off,xino=auto,nfs_export=off,default_permissions,context="s0:c1,c2"',
  ],
  [
    'false flags are left out',
    { lowers: ['/l', '/m'], options: { userxattr: false, metacopy: false } },
    'lowerdir=/l:/m,metacopy=off',
  ],
  ['relative paths are allowed here', { lowers: ['l/A', 'l/B'] }, 'lowerdir=l/A:l/B'],
] as const) {
  data(name, () => {
    const got = overlayData(input as unknown as Parameters<typeof overlayData>[0]);
    assert.is(got, want);
    kernelParseOverlayData(got); // the kernel model takes it
  });
}
data('refuses what the kernel refuses', () => {
  throwsCode(() => overlayData({ lowers: [] }), 'ERR_OVL_BAD_OPTION');
  throwsCode(() => overlayData({ lowers: ['/l'], upper: '/u' }), 'ERR_OVL_BAD_OPTION');
  throwsCode(() => overlayData({ lowers: ['/l'], work: '/w' }), 'ERR_OVL_BAD_OPTION');
  throwsCode(() => overlayData({ lowers: ['/l', ''] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => overlayData({ lowers: ['/l'], dataOnlyLowers: [''] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => overlayData({ lowers: ['/l\0', '/m'] }), 'ERR_OVL_BAD_PATH');
  // a read-only mount needs two layers ("at least 2 lowerdir are needed while upperdir nonexistent")
  throwsCode(() => overlayData({ lowers: ['/l'] }), 'ERR_OVL_BAD_OPTION');
  // a layer named twice ("conflicting lowerdir path", ELOOP)
  assert.is(throwsCode(() => overlayData({ lowers: ['/l', '/l'] }), 'ERR_OVL_BAD_PATH').path, '/l');
  throwsCode(() => overlayData({ lowers: ['/l'], dataOnlyLowers: ['/l'] }), 'ERR_OVL_BAD_PATH');
});
data.run();

const options = suite('overlayOptionList / parseExtraOption');
options('bad enum values are refused with the key', () => {
  for (const [o, key] of [
    [{ metacopy: 'yes' }, 'metacopy'],
    [{ index: 1 }, 'index'],
    [{ redirectDir: 'always' }, 'redirect_dir'],
    [{ xino: 'true' }, 'xino'],
  ] as const) {
    const e = throwsCode(() => overlayOptionList(o as never), 'ERR_OVL_BAD_OPTION');
    assert.is(e.option, key);
  }
});
options('extra entries: key, key=value, escaped commas', () => {
  assert.equal(parseExtraOption('volatile'), { key: 'volatile' });
  assert.equal(parseExtraOption('uuid=off'), { key: 'uuid', value: 'off' });
  assert.equal(parseExtraOption('x=a\\,b'), { key: 'x', value: 'a\\,b' });
});
options('extra entries that would change the stack or smuggle options are refused', () => {
  for (const bad of [
    'lowerdir=/x',
    'upperdir=/u',
    'workdir=/w',
    'context=x',
    'lowerdir+=/x',
    '',
    '=v',
    'a,b',
    'x=1,y=2',
    'x=a\\\\,b',
  ]) {
    throwsCode(() => parseExtraOption(bad), 'ERR_OVL_BAD_OPTION');
  }
});
options.run();

const conflicts = suite('resolveOverlayOptions: combinations overlayfs refuses');
conflicts('data-only layers get metacopy=on unless it is set', () => {
  assert.is(overlayData({ lowers: ['/l'], dataOnlyLowers: ['/d'] }), 'lowerdir=/l::/d,metacopy=on');
  assert.is(
    overlayData({ lowers: ['/l'], dataOnlyLowers: ['/d'], options: { metacopy: 'on' } }),
    'lowerdir=/l::/d,metacopy=on',
  );
  assert.equal(resolveOverlayOptions({}, { upper: true, dataOnly: false }), []);
  // Linux 6.16+ takes data-only layers without metacopy; an explicit choice, or userxattr, is left alone
  assert.equal(resolveOverlayOptions({ metacopy: 'off' }, { upper: false, dataOnly: true }), [
    { key: 'metacopy', value: 'off' },
  ]);
  assert.equal(resolveOverlayOptions({ userxattr: true }, { upper: false, dataOnly: true }), [
    { key: 'userxattr' },
  ]);
});
for (const [name, options, dataOnly, key] of [
  ['userxattr with metacopy=on', { userxattr: true, metacopy: 'on' }, false, 'metacopy'],
  ['userxattr with redirect_dir=on', { userxattr: true, redirectDir: 'on' }, false, 'redirect_dir'],
  ['metacopy=on with redirect_dir=off', { metacopy: 'on', redirectDir: 'off' }, false, 'redirect_dir'],
  [
    'metacopy=on with redirect_dir=follow (upper)',
    { metacopy: 'on', redirectDir: 'follow' },
    false,
    'redirect_dir',
  ],
] as const) {
  conflicts(`refuses ${name}`, () => {
    const e = throwsCode(
      () => resolveOverlayOptions(options as never, { upper: true, dataOnly }),
      'ERR_OVL_BAD_OPTION',
    );
    assert.is(e.option, key);
  });
}
conflicts('accepts what the kernel accepts', () => {
  resolveOverlayOptions({ userxattr: true, redirectDir: 'nofollow' }, { upper: true, dataOnly: false });
  resolveOverlayOptions({ metacopy: 'on', redirectDir: 'on' }, { upper: true, dataOnly: false });
  // without an upper layer the kernel reads follow as on
  resolveOverlayOptions({ metacopy: 'on', redirectDir: 'follow' }, { upper: false, dataOnly: false });
});
conflicts.run();
