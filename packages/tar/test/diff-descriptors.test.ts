// The descriptors a diff opens in its source tree: files are opened relative to the directories of the
// walk, which stay open while entries still need them. Whatever the end — done, aborted, the consumer
// gone, a file that cannot be opened — none stays open, and errors name the file by its whole path.
import { closeSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lsetxattr } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ContentReader } from '../src/diff/content-reader.js';
import { diff, diffToFile } from '../src/index.js';
import { build, collect, isRoot, readTar, rmTree, tempDir } from './diff-helpers.js';

const fds = suite('diff: descriptors');
let out = '';
fds.before(() => {
  out = tempDir('dfd-out');
});
fds.after(async () => {
  rmTree(out);
  // The content readers' workers leave by themselves after close(), their event loops' descriptors with
  // them: wait for that here, so that suites counting this process's descriptors start from a still count.
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const now = readdirSync('/proc/self/fd').length;
    if (now === last) break;
    last = now;
    await sleep(100);
  }
});

/** What this process holds open inside `root`. */
function openIn(root: string): string[] {
  const held: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target === root || target.startsWith(`${root}/`)) held.push(`${fd} -> ${target}`);
    } catch {
      // closed between the listing and the readlink (the listing's own descriptor, say)
    }
  }
  return held;
}

/** Waits for the descriptors in `root` to close: a batch out on the reader lets go once it is back. */
async function settled(root: string): Promise<string[]> {
  for (let i = 0; i < 50 && openIn(root).length > 0; i++) await sleep(20);
  return openIn(root);
}

/** `dirs` × `files` files of `size` bytes, and a few nested levels, so that the walk holds several dirs. */
function tree(tag: string, dirs: number, files: number, size: number): string {
  const root = tempDir(tag);
  const spec: Record<string, string> = {};
  for (let d = 0; d < dirs; d++) {
    for (let f = 0; f < files; f++)
      spec[`a/b${d % 3}/d${d}/f${f}`] = String.fromCharCode(97 + (f % 26)).repeat(size);
  }
  build(root, spec);
  return root;
}

fds('a diff read on the calling thread leaves none open, and its content is right', async () => {
  const root = tree('dfd-main', 12, 30, 20_000); // 20 kB files: read on the calling thread
  try {
    const r = await diffToFile({ upper: root }, join(out, 'main.tar'));
    assert.equal(openIn(root), []);
    assert.is(r.entries, 4 + 12 + 360);
    const tar = await collect(diff({ upper: root }));
    assert.equal(openIn(root), []);
    const f = (await readTar(tar)).find((e) => e.name === 'a/b1/d4/f7');
    assert.is(f?.content.toString(), 'h'.repeat(20_000));
  } finally {
    rmTree(root);
  }
});

fds('a diff of thousands of small files (read on the worker) leaves none open', async () => {
  const root = tree('dfd-worker', 10, 300, 300); // 3,000 files of 300 bytes: the content reader's
  try {
    const r = await diffToFile({ upper: root }, join(out, 'worker.tar'));
    assert.is(r.entries, 4 + 10 + 3000);
    assert.equal(await settled(root), []);
    const f = (await readTar(await collect(diff({ upper: root })))).find((e) => e.name === 'a/b2/d8/f299');
    assert.is(f?.content.toString(), 'n'.repeat(300));
    assert.equal(await settled(root), []);
  } finally {
    rmTree(root);
  }
});

fds('an aborted diff and a destroyed stream leave none open', async () => {
  for (const [tag, size] of [
    ['dfd-abort-main', 20_000],
    ['dfd-abort-worker', 300],
  ] as const) {
    const root = tree(tag, 10, 300, size);
    try {
      const ac = new AbortController();
      const err = await diffToFile({ upper: root }, join(out, 'aborted.tar'), {
        signal: ac.signal,
        onProgress: (p) => p.entries === 700 && ac.abort(),
      }).catch((e: unknown) => e);
      assert.is((err as Error).name, 'AbortError', tag);
      assert.equal(await settled(root), [], `${tag}: aborted`);

      const s = diff({ upper: root });
      await new Promise<void>((resolve) => s.once('data', () => resolve()));
      s.destroy();
      await sleep(50);
      assert.equal(await settled(root), [], `${tag}: destroyed`);
    } finally {
      rmTree(root);
    }
  }
});

fds('a walk that fails midway (a redirect_dir upper) leaves none open', async () => {
  if (!isRoot) return console.log('  skipped: trusted.overlay.* xattrs need root');
  for (const [tag, size] of [
    ['dfd-walkerr-main', 20_000],
    ['dfd-walkerr-worker', 300],
  ] as const) {
    const root = tree(tag, 10, 300, size);
    try {
      // Walked after ~1,300 entries: the batch being filled then holds files of open directories.
      mkdirSync(join(root, 'a/b1/moved'));
      lsetxattr(join(root, 'a/b1/moved'), 'trusted.overlay.redirect', '/old');
      const err = await diffToFile({ upper: root }, join(out, 'walkerr.tar')).catch((e: unknown) => e);
      assert.is((err as NodeJS.ErrnoException).code, 'ERR_OVL_NOT_SUPPORTED', tag);
      assert.equal(await settled(root), [], tag);
    } finally {
      rmTree(root);
    }
  }
});

fds('a file that cannot be opened fails the diff naming its whole path; none left open', async () => {
  const root = tree('dfd-eloop', 10, 300, 20_000);
  try {
    // Swapped for a symlink after the walk stat-ed it as a file (the walk runs batches ahead of the
    // encoding): its open, which never follows the last component, fails with ELOOP.
    const victim = join(root, 'a/b0/d0/f150');
    const err = await diffToFile({ upper: root }, join(out, 'eloop.tar'), {
      onProgress: (p) => {
        if (p.entries !== 1) return;
        renameSync(victim, `${victim}.moved`);
        symlinkSync('f1', victim);
      },
    }).catch((e: unknown) => e);
    assert.instance(err, Error);
    assert.is((err as NodeJS.ErrnoException).code, 'ELOOP');
    assert.is((err as NodeJS.ErrnoException).path, victim);
    assert.match((err as Error).message, victim);
    assert.equal(await settled(root), []);
  } finally {
    rmTree(root);
  }
});

fds('the content reader opens by name in the directory it is given, and names errors by path', async () => {
  const root = tempDir('dfd-reader');
  try {
    build(root, { 'd/a': 'abc', 'd/b': 'bbbb' });
    symlinkSync('a', join(root, 'd/l'));
    const dir = openSync(join(root, 'd'), 'r');
    try {
      // The paths say one thing and the directory another: the directory wins where it is given.
      const req = {
        paths: [join(root, 'elsewhere/a'), join(root, 'd/b'), join(root, 'd/l')],
        at: [[dir, 'a'], undefined, [dir, 'l']] as Array<[number, string] | undefined>,
        sizes: [3, 4, 1],
      };
      const reader = new ContentReader();
      try {
        const r = await reader.read(req);
        assert.is(Buffer.from(r.data, 0, 7).toString(), 'abcbbbb');
        assert.equal(
          r.errors.map((e) => [e.index, e.code, e.message.includes(join(root, 'd/l'))]),
          [[2, 'ELOOP', true]],
        );
      } finally {
        reader.close();
      }
    } finally {
      closeSync(dir);
    }
  } finally {
    rmTree(root);
  }
});

fds('a directory renamed after the walk: its files are still read, through the open directory', async () => {
  const root = tempDir('dfd-renamed');
  try {
    build(root, { 'd/a': 'content of a', 'd/b': 'bbbb' });
    const tar = await collect(
      diff(
        { upper: root },
        {
          onProgress: (p) => {
            if (p.entries === 1) renameSync(join(root, 'd'), join(root, 'e')); // after the entry of d/
          },
        },
      ),
    );
    const byName = new Map((await readTar(tar)).map((e) => [e.name, e.content.toString()]));
    assert.is(byName.get('d/a'), 'content of a');
    assert.is(byName.get('d/b'), 'bbbb');
    assert.equal(openIn(root), []);
  } finally {
    rmTree(root);
  }
});

fds.run();
