// The driver against a real aufs kernel (Debian/Ubuntu kernels before 2020 shipped it). Skipped, with the
// reason printed, on kernels without aufs or when not root — which is every kernel this project's CI has.
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMountpoint, readMountinfo } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AufsDriver, assertAufsSupported } from '../src/index.js';
import { sha } from './fixtures.js';

async function why(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    await assertAufsSupported();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

const reason = await why();
const Real = suite('aufs driver on a real aufs kernel');

const NAMES = [
  "Docker's 126 layers through real mounts: 114 files on top",
  'get/put counts, diff carries whiteouts, cleanup unmounts',
];

if (reason) {
  console.log(`real-aufs: skipped: ${reason}`);
  for (const name of NAMES) Real.skip(name, () => {});
} else {
  let base = '';
  let driver: AufsDriver | undefined;
  Real.before(async () => {
    base = mkdtempSync(join(tmpdir(), 'ovl-aufs-real-'));
    driver = await AufsDriver.init(join(base, 'aufs'));
  });
  Real.after(async () => {
    try {
      await driver?.cleanup();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  Real(NAMES[0]!, async () => {
    const d = driver!;
    const ids: string[] = [];
    let expected = 0;
    for (let i = 1; i <= 126; i++) {
      const parent = ids[ids.length - 1];
      const current = sha(String(i));
      await d.create(current, parent);
      const point = await d.get(current);
      writeFileSync(join(point, current), '');
      expected++;
      if (i % 10 === 0) {
        unlinkSync(join(point, parent!));
        expected--;
        // aufs recorded the deletion as a whiteout in the rw branch
        assert.ok(existsSync(join(d.home, 'diff', current, `.wh.${parent}`)));
      }
      await d.put(current);
      ids.push(current);
    }
    const top = ids[125]!;
    const point = await d.get(top);
    assert.ok(isMountpoint(point));
    const m = readMountinfo().find((x) => x.mountPoint === point);
    assert.is(m?.fstype, 'aufs');
    assert.is(readdirSync(point).filter((n) => !n.startsWith('.wh.')).length, expected);
    await d.put(top);
    assert.not.ok(isMountpoint(point));
  });

  Real(NAMES[1]!, async () => {
    const d = driver!;
    const a = sha('ra');
    const b = sha('rb');
    await d.create(a);
    writeFileSync(join(await d.get(a), 'f'), 'base');
    await d.put(a);
    await d.create(b, a);
    const p1 = await d.get(b);
    const p2 = await d.get(b);
    assert.is(p1, p2);
    assert.is(readFileSync(join(p1, 'f'), 'utf8'), 'base');
    unlinkSync(join(p1, 'f'));
    await d.put(b);
    assert.ok(isMountpoint(p1), 'still held once');
    const changes = await d.changes(b);
    assert.equal(changes, [{ path: '/f', kind: 'delete' }]);
    await d.cleanup();
    assert.not.ok(isMountpoint(p1));
  });
}

Real.run();
