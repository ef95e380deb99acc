// The `ovl` command run as a subprocess on the embedded example image: flatten, unpack into a store
// (shared layers reused), the store commands, --json output and non-terminal progress lines.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openImage } from '@ovl/image';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedImage, isRoot, ovl, removeDir, tempDir } from './helpers/cli.js';
import { assertEmbeddedRootfs } from './helpers/expected-tree.js';

const Flatten = suite('ovl flatten');
let dirs: string[] = [];
const fresh = (tag: string) => {
  const d = tempDir(tag);
  dirs.push(d);
  return d;
};
Flatten.after.each(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

Flatten('gives exactly the expected root filesystem', () => {
  const out = join(fresh('flat'), 'rootfs');
  const r = ovl(['flatten', embeddedImage, out]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 layers/);
  assertEmbeddedRootfs(out, { owners: isRoot });
});

Flatten('prints plain progress lines when stderr is not a terminal', () => {
  const r = ovl(['flatten', embeddedImage, join(fresh('flat'), 'rootfs')]);
  const lines = r.stderr.trim().split('\n');
  assert.equal(
    lines.map((l) => l.replace(/ [0-9a-f]{12}:.*/, '')),
    ['layer 1/3', 'layer 1/3', 'layer 2/3', 'layer 2/3', 'layer 3/3', 'layer 3/3'],
  );
  assert.match(lines[0]!, /unpacking$/);
  assert.match(lines[1]!, /done, .* in .* s/);
  assert.not.match(r.stderr, /\x1b\[/, 'no terminal escapes in plain mode');
});

Flatten('--json prints one result object and JSON progress events', () => {
  const r = ovl(['flatten', '--json', embeddedImage, join(fresh('flat'), 'rootfs')]);
  assert.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.is(result.layers, 3);
  assert.ok(result.entries >= 19, `entries ${result.entries}`);
  const events = r.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(
    events.filter((e) => e.phase !== 'progress').map((e) => [e.event, e.index, e.phase]),
    [
      ['layer', 0, 'start'],
      ['layer', 0, 'done'],
      ['layer', 1, 'start'],
      ['layer', 1, 'done'],
      ['layer', 2, 'start'],
      ['layer', 2, 'done'],
    ],
  );
});

Flatten.run();

const Store = suite('ovl unpack and the store commands (vfs driver)');
let store = '';
Store.before(() => {
  store = tempDir('store');
});
Store.after(() => removeDir(store));
const inStore = (args: string[]) => ovl([...args, '--store', store, '--driver', 'vfs']);

Store('unpack prints the top chain ID and a second unpack reuses every layer', async () => {
  const image = await openImage(embeddedImage);
  const top = image.chainIds.at(-1)!.replace('sha256:', '');
  const first = inStore(['unpack', embeddedImage]);
  assert.is(first.code, 0, first.stderr);
  assert.is(first.stdout.trim(), top);
  assert.match(first.stderr, /layer 3\/3 .*: unpacking/);
  const again = inStore(['unpack', embeddedImage]);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.stdout.trim(), top);
  assert.is(again.stderr.match(/already in the store, reused/g)?.length, 3, again.stderr);
});

Store('the top layer of the vfs store holds the flattened root', async () => {
  const image = await openImage(embeddedImage);
  const top = image.chainIds.at(-1)!.replace('sha256:', '');
  assertEmbeddedRootfs(join(store, 'dir', top), { owners: isRoot });
});

Store('ls lists the chain; ls --tree draws it; --json parses', async () => {
  const image = await openImage(embeddedImage);
  const ids = image.chainIds.map((c) => c.replace('sha256:', ''));
  const ls = JSON.parse(inStore(['ls', '--json']).stdout) as Array<{ id: string; parent?: string }>;
  assert.equal(ls.map((l) => l.id).sort(), [...ids].sort());
  assert.is(ls.find((l) => l.id === ids[2])?.parent, ids[1]);
  const tree = inStore(['ls', '--tree']).stdout.trimEnd().split('\n');
  assert.is(tree.length, 3);
  assert.match(tree[0]!, new RegExp(`^${ids[0]!.slice(0, 12)}`));
  assert.match(tree[1]!, new RegExp(`^└── ${ids[1]!.slice(0, 12)}`));
  assert.match(tree[2]!, new RegExp(`^    └── ${ids[2]!.slice(0, 12)}`));
});

Store('changes of the middle layer are its deletions and additions', async () => {
  const image = await openImage(embeddedImage);
  const mid = image.chainIds[1]!.replace('sha256:', '');
  const r = inStore(['changes', mid, '--json']);
  assert.is(r.code, 0, r.stderr);
  const changes = JSON.parse(r.stdout) as Array<{ path: string; kind: string }>;
  const by = (kind: string) =>
    changes
      .filter((c) => c.kind === kind)
      .map((c) => c.path)
      .sort();
  assert.ok(by('delete').includes('/etc/motd'), JSON.stringify(changes));
  assert.ok(by('delete').includes('/opt/old'), JSON.stringify(changes));
  for (const p of ['/usr/bin/greet', '/usr/bin/greet-again', '/usr/bin/hi', '/etc/localtime']) {
    assert.ok(by('add').includes(p), `${p} added: ${JSON.stringify(changes)}`);
  }
});

Store('diff of the middle layer is a tar with its whiteouts and files', async () => {
  const image = await openImage(embeddedImage);
  const mid = image.chainIds[1]!.replace('sha256:', '');
  const r = execFileSync(
    process.execPath,
    [join(import.meta.dirname, '..', 'dist', 'cli.js'), 'diff', mid, '--store', store, '--driver', 'vfs'],
    {
      maxBuffer: 1 << 26,
    },
  );
  const tarFile = join(store, 'mid.tar');
  writeFileSync(tarFile, r);
  const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).trim().split('\n');
  const has = (n: string) => names.some((x) => x.replace(/^\.\//, '') === n);
  for (const n of ['etc/.wh.motd', 'usr/bin/greet', 'usr/bin/hi'])
    assert.ok(has(n), `${n} in ${names.join(' ')}`);
  // /opt lost its only child: a whiteout for it, or (the naive differ's choice) /opt marked opaque.
  assert.ok(has('opt/.wh.old') || has('opt/.wh..wh..opq'), `opt/old deleted in ${names.join(' ')}`);
  assert.not.ok(
    names.some((x) => x.includes('hostname')),
    'unchanged files stay out of the diff',
  );
  assert.ok(readFileSync(tarFile).length > 0);
});

Store('rm refuses a layer with children, then removes top down', async () => {
  const image = await openImage(embeddedImage);
  const ids = image.chainIds.map((c) => c.replace('sha256:', ''));
  const refused = inStore(['rm', ids[0]!]);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /has child layers/);
  for (const id of [...ids].reverse()) assert.is(inStore(['rm', id]).code, 0);
  assert.equal(JSON.parse(inStore(['ls', '--json']).stdout), []);
  const missing = inStore(['rm', ids[0]!]);
  assert.is(missing.code, 3, 'a layer that is not there exits 3');
});

Store('status names the driver', () => {
  const r = inStore(['status', '--json']);
  assert.is(JSON.parse(r.stdout).Driver, 'vfs');
});

Store.run();

const Usage = suite('ovl usage errors');
Usage('an unknown command exits 2 with the usage text', () => {
  const r = ovl(['frobnicate']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(r.stderr, /usage: ovl <command>/);
});
Usage('a missing argument exits 2', () => {
  assert.is(ovl(['flatten', embeddedImage]).code, 2);
});
Usage('an unknown option exits 2', () => {
  assert.is(ovl(['ls', '--bogus']).code, 2);
});
Usage('--help prints the usage and exits 0', () => {
  const r = ovl(['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /exit codes:/);
});
Usage.run();
