// The `ovl` command run as a subprocess on the embedded example image: flatten, unpack into a store
// (shared layers reused), the store commands, --json output and non-terminal progress lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openImage } from '@ovl/image';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { humanBytes } from '../src/cli/format.js';
import { cliJs, embeddedImage, isRoot, ovl, removeDir, tempDir } from './helpers/cli.js';
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
const removeFresh = () => {
  for (const d of dirs) removeDir(d);
  dirs = [];
};
Store.after(() => {
  removeDir(store);
  removeFresh();
});
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
  assert.match(inStore(['status']).stdout, /^Driver: vfs$/m);
});

Store('ls --tree draws a parent two images share once, with both children and every size', async () => {
  const home = fresh('tree');
  const inTree = (args: string[]) => ovl([...args, '--store', home, '--driver', 'vfs', '-q']);
  const other = await imageOnSecondLayer(join(home, 'other-image'));
  assert.is(inTree(['unpack', embeddedImage]).code, 0);
  const r = inTree(['unpack', other.dir, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(
    JSON.parse(r.stdout).layers.map((l: { reused: boolean }) => l.reused),
    [true, true, false],
    'the shared layers are reused',
  );
  const layers = JSON.parse(inTree(['ls', '--json']).stdout) as Array<{ id: string; size: number }>;
  assert.is(layers.length, 4);
  const line = (id: string) => `${id.slice(0, 12)}  ${humanBytes(layers.find((l) => l.id === id)!.size)}`;
  const image = await openImage(embeddedImage);
  const [a, b, c] = image.chainIds.map((x) => x.replace('sha256:', '')) as [string, string, string];
  const d = other.top;
  const [first, second] = [c, d].sort();
  assert.equal(inTree(['ls', '--tree']).stdout.trimEnd().split('\n'), [
    line(a),
    `└── ${line(b)}`,
    `    ├── ${line(first!)}`,
    `    └── ${line(second!)}`,
  ]);
});

Store.run();

const Tty = suite('progress on a terminal');
const hasScript = spawnSync('script', ['--version']).status === 0;
/** Runs the command under script(1), so that its stdout and stderr are a terminal; returns what it drew. */
const onTerminal = (args: string[]) => {
  const cmd = [process.execPath, cliJs, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout.replace(/\r\n/g, '\n') };
};

Tty.after(removeFresh);
if (!hasScript) console.log('terminal progress tests skipped: script(1) not installed');
else {
  Tty('a bar redrawn in place, with the layer, bytes and rate, and a final newline', () => {
    const dir = join(fresh('tty'), 'rootfs');
    const r = onTerminal(['flatten', embeddedImage, dir]);
    assert.is(r.code, 0, r.out);
    const draws = r.out.split('\r\x1b[K').slice(1);
    assert.ok(draws.length >= 6, r.out);
    for (const d of draws) assert.match(d, /^\[[#.]{24}\] layer [1-3]\/3 [0-9a-f]{12} /);
    assert.match(
      draws.at(-1)!,
      /^\[#{24}\] layer 3\/3 [0-9a-f]{12} [\d.]+ (B|[KMGT]iB) [\d.]+ (B|[KMGT]iB)\/s\n/,
    );
    assert.match(r.out, /\n.*: 3 layers, \d+ entries/, 'the result on its own line');
    assert.not.match(r.out, /unpacking|done,/, 'no plain lines on a terminal');
  });

  Tty('an error after a half-drawn bar starts on a line of its own', async () => {
    const work = fresh('tty-bad');
    const image = join(work, 'image');
    cpSync(embeddedImage, image, { recursive: true });
    const top = (await openImage(image)).layers.at(-1)!;
    truncateSync(join(image, 'blobs', 'sha256', top.digest.slice(7)), 40);
    const r = onTerminal(['flatten', image, join(work, 'rootfs')]);
    assert.is(r.code, 6, r.out);
    assert.match(r.out, /\] layer 3\/3 [^\n]*\novl flatten: layer 2 blob sha256:/);
  });
}
Tty.run();

const Usage = suite('ovl usage errors');
Usage.after(removeFresh);
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
Usage('an unknown driver exits 2 and lists the drivers', () => {
  const r = ovl(['ls', '--driver', 'zfs', '--store', fresh('nodriver')]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /unknown driver "zfs"; registered: overlay, aufs, vfs/);
});
Usage('--driver aufs on a kernel without aufs exits 5 and says to use overlay', () => {
  if (readFileSync('/proc/filesystems', 'utf8').includes('\taufs'))
    return console.log('skipped: this kernel has aufs');
  const r = ovl(['unpack', embeddedImage, '--driver', 'aufs', '--store', fresh('aufs'), '-q']);
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stderr, /aufs is not available in this kernel/);
  assert.match(r.stderr, /hint: .*use `--driver overlay`/);
});
Usage('an image path where nothing is exits 3', () => {
  const r = ovl(['flatten', '/nonexistent/image', join(fresh('noimage'), 'out')]);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /there is no image at \/nonexistent\/image/);
});
Usage('--platform picks from the multi-platform index; an absent one exits 6 with the choices', () => {
  const arm = JSON.parse(ovl(['inspect', embeddedImage, '--platform', 'linux/arm64', '--json']).stdout);
  assert.equal(arm.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  const r = ovl(['inspect', embeddedImage, '--platform', 'windows/amd64']);
  assert.is(r.code, 6, r.stderr);
  assert.match(r.stderr, /available: linux\/amd64, linux\/arm64\/v8/);
  assert.match(r.stderr, /hint: pick one of the platforms listed with --platform/);
});
Usage('--help prints the usage and exits 0', () => {
  const r = ovl(['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /exit codes:/);
});
Usage.run();

/**
 * A second image in OCI layout: the embedded image's first two layers and a new third one, so that the
 * two images share a parent. Returns its directory and its top chain ID.
 */
async function imageOnSecondLayer(dir: string): Promise<{ dir: string; top: string }> {
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const base = await openImage(embeddedImage);
  cpSync(embeddedImage, dir, { recursive: true });
  const src = join(dir, '..', 'other-src');
  mkdirSync(join(src, 'srv'), { recursive: true });
  writeFileSync(join(src, 'srv', 'other.txt'), 'only in the other image\n');
  const tar = execFileSync('tar', [
    '-C',
    src,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-cf',
    '-',
    'srv',
  ]);
  const blob = gzipSync(tar);
  const put = (b: Buffer) => {
    writeFileSync(join(dir, 'blobs', 'sha256', sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const layerDesc = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(blob) };
  const diffIds = [...base.diffIds.slice(0, 2), sha(tar)];
  const config = put(
    Buffer.from(JSON.stringify({ ...base.config, rootfs: { type: 'layers', diff_ids: diffIds } })),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [...base.manifest.layers.slice(0, 2), layerDesc],
      }),
    ),
  );
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }],
    }),
  );
  const chain2 = base.chainIds[1]!;
  const top = createHash('sha256').update(`${chain2} ${diffIds[2]}`).digest('hex');
  return { dir, top };
}
