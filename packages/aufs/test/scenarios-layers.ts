// The layer files of the aufs driver as scenarios for any Harness: diff (tar of a diff dir in aufs format),
// applyDiff (whiteouts kept as files, staged so that a failure leaves nothing), diffSize and changes. The
// branches are written the way aufs writes them, so a real aufs mount of them must show the flattened tree.
import { spawn } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as assert from 'uvu/assert';
import type { AufsDriver } from '../src/index.js';
import { sha } from './fixtures.js';
import type { Scenario } from './harness.js';

/** The entry names of a tar stream, as GNU tar lists them. */
async function tarNames(stream: Readable): Promise<string[]> {
  const child = spawn('tar', ['-tf', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  stream.pipe(child.stdin);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.is(code, 0, 'GNU tar reads the layer');
  return out.split('\n').filter(Boolean);
}

async function toBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** The whole tree below `root` as `path → kind:content|mode` lines, sorted. */
function treeOf(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = `${rel}/${name}`;
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${r} dir ${mode}`);
        walk(abs, r);
      } else if (st.isFile()) out.push(`${r} file ${mode} ${readFileSync(abs, 'utf8')}`);
      else out.push(`${r} other`);
    }
  };
  walk(root, '');
  return out;
}

/**
 * A base layer and a layer on it written the way aufs writes its rw branch: a deleted file as a `.wh.`
 * whiteout hard-linked to the branch's `.wh..wh.aufs`, an opaque dir with `.wh..wh..opq`, and aufs's own
 * `.wh..wh.plnk` / `.wh..wh.orph` directories.
 */
async function twoLayers(
  driver: AufsDriver,
): Promise<{ a: string; b: string; diffA: string; diffB: string }> {
  const a = sha('base');
  const b = sha('top');
  await driver.create(a);
  await driver.create(b, a);
  const diffA = join(driver.home, 'diff', a);
  const diffB = join(driver.home, 'diff', b);
  writeFileSync(join(diffA, 'keep'), 'keep');
  writeFileSync(join(diffA, 'mod'), 'old');
  writeFileSync(join(diffA, 'gone'), 'gone');
  mkdirSync(join(diffA, 'd'));
  writeFileSync(join(diffA, 'd', 'old'), 'old in d');
  writeFileSync(join(diffB, 'mod'), 'new content');
  writeFileSync(join(diffB, 'new'), 'new');
  writeFileSync(join(diffB, '.wh..wh.aufs'), '');
  linkSync(join(diffB, '.wh..wh.aufs'), join(diffB, '.wh.gone'));
  mkdirSync(join(diffB, 'd'));
  writeFileSync(join(diffB, 'd', '.wh..wh..opq'), '');
  writeFileSync(join(diffB, 'd', 'new'), 'new in d');
  mkdirSync(join(diffB, '.wh..wh.plnk'));
  writeFileSync(join(diffB, '.wh..wh.plnk', '1234.5678'), 'pseudo-link');
  mkdirSync(join(diffB, '.wh..wh.orph'));
  return { a, b, diffA, diffB };
}

export const layerScenarios: Scenario[] = [
  {
    name: 'whiteouts and the opaque marker as they are; aufs metadata left out (moby#15996)',
    async run(h) {
      const r = await h.start('diff');
      try {
        const { driver } = r;
        const { a, b, diffA, diffB } = await twoLayers(driver);
        // mounted, the hand-written branches merge as aufs merges them
        const mnt = await driver.get(b);
        const data = `br:${diffB}=rw:${diffA}=ro+wh,dio,xino=/dev/shm/aufs.xino`;
        assert.is(mnt, join(r.home, 'mnt', b));
        await r.check({
          calls: [['mount', 'none', mnt, 'aufs', 0, data]],
          mounts: [{ point: mnt, stack: [diffB, diffA] }],
        });
        assert.equal(
          (await r.view(mnt, [diffB, diffA])).map((l) => l.split(' ')[0]),
          ['/d', '/d/new', '/keep', '/mod', '/new'],
          `the view of ${a.slice(0, 8)} under ${b.slice(0, 8)}`,
        );
        await driver.put(b);
        await r.check({ calls: [['umount2', mnt, 0]], mounts: [] });
        const names = (await tarNames(driver.diff(b))).map((n) => n.replace(/^\.\//, ''));
        assert.ok(names.includes('.wh.gone'), names.join(' '));
        assert.ok(names.includes('d/.wh..wh..opq'), 'the opaque marker is kept');
        assert.ok(names.includes('d/new') && names.includes('mod') && names.includes('new'));
        assert.equal(
          names.filter((n) => /\.wh\.\.wh\.(plnk|aufs|orph)/.test(n)),
          [],
          'no aufs metadata',
        );
        assert.not.ok(names.includes('keep'), 'only the delta');
        assert.throws(() => driver.diff(sha('missing')), /does not exist/);
      } finally {
        await r.done();
      }
    },
  },
  {
    name: 'round trip: the diff of one layer applied to another keeps .wh. files',
    async run(h) {
      const r = await h.start('apply');
      try {
        const { driver } = r;
        const { b, diffB } = await twoLayers(driver);
        const c = sha('copy');
        await driver.create(c);
        const size = await driver.applyDiff(c, undefined, driver.diff(b));
        const diffC = join(r.home, 'diff', c);
        const tree = treeOf(diffC);
        // (whiteout entries get a normalised mode from @ovl/tar's diff; what matters is that they are files)
        assert.equal(
          tree.map((l) => (l.includes('.wh.') ? l.replace(/ file \d+ /, ' file ') : l)),
          [
            '/.wh.gone file ',
            '/d dir 755',
            '/d/.wh..wh..opq file ',
            '/d/new file 644 new in d',
            '/mod file 644 new content',
            '/new file 644 new',
          ],
        );
        assert.ok(lstatSync(join(diffC, '.wh.gone')).isFile(), 'an aufs whiteout stays a plain file');
        assert.is(size, 'new in d'.length + 'new content'.length + 'new'.length);
        assert.is(await driver.diffSize(c), size);
        assert.ok(existsSync(join(diffB, '.wh..wh.plnk')), 'the source branch is untouched');
        assert.equal(
          readdirSync(join(r.home, 'diff')).filter((n) => n.startsWith('.')),
          [],
          'no staging dir left',
        );
      } finally {
        await r.done();
      }
    },
  },
  {
    name: 'a failed apply leaves the diff dir as it was and no staging dir',
    async run(h) {
      const r = await h.start('apply-fail');
      try {
        const { driver } = r;
        const { b } = await twoLayers(driver);
        const good = await toBuffer(driver.diff(b));
        const c = sha('c');
        await driver.create(c);
        const diffC = join(r.home, 'diff', c);
        writeFileSync(join(diffC, 'before'), 'x');
        // a tar cut in the middle of a file's content, after other entries were written
        const cut = good.subarray(0, good.indexOf('new content') + 3);
        let failed = false;
        try {
          await driver.applyDiff(c, undefined, Readable.from([cut]));
        } catch (e) {
          failed = true;
          assert.ok((e as { code?: string }).code, `a coded error: ${String(e)}`);
        }
        assert.ok(failed, 'the truncated tar is refused');
        assert.equal(treeOf(diffC), ['/before file 644 x']);
        assert.equal(
          readdirSync(join(r.home, 'diff')).filter((n) => n.startsWith('.')),
          [],
        );
        // a good apply onto a non-empty diff dir merges
        await driver.applyDiff(c, undefined, Readable.from([good]));
        assert.ok(treeOf(diffC).includes('/before file 644 x'));
        assert.ok(existsSync(join(diffC, '.wh.gone')));
      } finally {
        await r.done();
      }
    },
  },
  {
    name: 'changes against the parents: whiteouts read as deletions, never listed as files',
    async run(h) {
      const r = await h.start('changes');
      try {
        const { driver } = r;
        const { a, b } = await twoLayers(driver);
        const ch = await driver.changes(b);
        const has = (path: string, kind: string) => ch.some((c) => c.path === path && c.kind === kind);
        assert.ok(has('/mod', 'modify'), JSON.stringify(ch));
        assert.ok(has('/new', 'add'));
        assert.ok(has('/gone', 'delete'));
        assert.ok(has('/d/new', 'add'));
        assert.ok(has('/d/old', 'delete'), 'the opaque dir hides d/old');
        assert.equal(
          ch.filter((c) => c.path.includes('.wh.')),
          [],
        );
        assert.not.ok(ch.some((c) => c.path === '/keep'));
        const base = await driver.changes(a);
        assert.ok(base.every((c) => c.kind === 'add'));
      } finally {
        await r.done();
      }
    },
  },
  {
    name: 'diffSize counts file bytes, each hard-linked inode once',
    async run(h) {
      const r = await h.start('size');
      try {
        const { driver } = r;
        const id = sha('size');
        await driver.create(id);
        const d = join(r.home, 'diff', id);
        writeFileSync(join(d, 'f'), Buffer.alloc(1000));
        linkSync(join(d, 'f'), join(d, 'f2'));
        mkdirSync(join(d, 'sub'));
        writeFileSync(join(d, 'sub', 'g'), Buffer.alloc(24));
        assert.is(await driver.diffSize(id), 1024);
      } finally {
        await r.done();
      }
    },
  },
];
