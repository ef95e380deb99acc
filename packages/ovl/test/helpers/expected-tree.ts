// Compares a directory with examples/embedded-image/expected-rootfs.json: the exact set of paths, and
// for each its type, mode, owner, content, link target, user.* xattrs and hardlink group.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { expectedRootfsFile } from './cli.js';
import { snapshotTree } from './tree-snapshot.js';

interface Expected {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  content?: string;
  linkname?: string;
  xattrs?: Record<string, string>;
  hardlinks?: string[];
}

export function assertEmbeddedRootfs(dir: string, opts: { owners?: boolean } = {}): void {
  const expected = JSON.parse(readFileSync(expectedRootfsFile, 'utf8')) as Record<string, Expected>;
  const tree = snapshotTree(dir);
  const got = Object.keys(tree).map((p) => p.slice(1));
  assert.equal(got.sort(), Object.keys(expected).sort(), `paths of ${dir}`);
  for (const [path, e] of Object.entries(expected)) {
    const t = tree[`/${path}`]!;
    assert.is(t.type, e.type, `${path}: type`);
    if (e.type !== 'symlink')
      assert.is(Number.parseInt(t.mode, 8), Number.parseInt(e.mode, 8), `${path}: mode`);
    if (opts.owners !== false) assert.equal([t.uid, t.gid], [e.uid, e.gid], `${path}: owner`);
    if (e.content !== undefined)
      assert.is(readFileSync(join(dir, path), 'utf8'), e.content, `${path}: content`);
    if (e.linkname !== undefined) assert.is(t.link, e.linkname, `${path}: link target`);
    const userXattrs = Object.fromEntries(
      Object.entries(t.xattrs ?? {})
        .filter(([k]) => k.startsWith('user.'))
        .map(([k, v]) => [k, Buffer.from(v.replace(/^0x/, ''), 'hex').toString()]),
    );
    assert.equal(userXattrs, e.xattrs ?? {}, `${path}: xattrs`);
    if (e.hardlinks) {
      const inodes = new Set(e.hardlinks.map((p) => lstatSync(join(dir, p)).ino));
      assert.is(inodes.size, 1, `${path}: ${e.hardlinks.join(', ')} are one hardlink group`);
    }
  }
}
