// The fallback mount plans on a kernel without `lowerdir+` (Debian's 6.1 in the test VM): 128 and 500
// lower layers cannot be named by absolute path inside one page, so @ovl/mountopts plans them
// fd-relative (O_PATH descriptors named from /proc/self/fd) or link-relative (short l/<ID> names from
// the store home), and @ovl/syscall's runPlan executes them. Each mount is checked through its merged
// view. Also runs on a newer kernel, where the same plans must work just as well.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MountOptsError, planOverlayMount } from '@ovl/mountopts';
import {
  isMountpoint,
  MNT_DETACH,
  probeOverlayFeatures,
  readMountinfo,
  runPlan,
  umount2,
} from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const isRoot = process.getuid?.() === 0;
const MAX = 500;

interface Store {
  dir: string;
  home: string;
  /** diff dirs, index i = layer i; layer MAX-1 is the newest */
  diffs: string[];
  /** `l/<ID>` names with 26-character IDs, as containers/storage makes them */
  longLinks: string[];
  /** `l/<ID>` names with 3-character IDs, short enough for 500 layers in one page */
  shortLinks: string[];
}

let store: Store | undefined;

/** A store-like tree: <home>/<64-hex id>/diff holding `only-<i>` and `shared`, plus l/ links. */
function buildStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), 'ovl-vm-plans-'));
  const home = join(dir, 'overlay');
  mkdirSync(join(home, 'l'), { recursive: true });
  const diffs: string[] = [];
  const longLinks: string[] = [];
  const shortLinks: string[] = [];
  for (let i = 0; i < MAX; i++) {
    const id = `f${i.toString(16).padStart(63, '0')}`;
    const diff = join(home, id, 'diff');
    mkdirSync(diff, { recursive: true });
    writeFileSync(join(diff, `only-${i}`), `layer ${i}`);
    writeFileSync(join(diff, 'shared'), `layer ${i}`);
    diffs.push(diff);
    const long = `L${i.toString(36).toUpperCase().padStart(25, 'Q')}`;
    const short = i.toString(36).padStart(3, '0');
    symlinkSync(`../${id}/diff`, join(home, 'l', long));
    symlinkSync(`../${id}/diff`, join(home, 'l', short));
    longLinks.push(`l/${long}`);
    shortLinks.push(`l/${short}`);
  }
  return { dir, home, diffs, longLinks, shortLinks };
}

/** The top `n` layers, top first, as planOverlayMount wants them, with a fresh upper/work/merged. */
function stack(s: Store, n: number, tag: string, linkSet: 'long' | 'short') {
  const lowers = s.diffs.slice(0, n).reverse();
  const names = (linkSet === 'long' ? s.longLinks : s.shortLinks).slice(0, n).reverse();
  const base = join(s.home, `rw-${tag}`);
  const upper = join(base, 'diff');
  const work = join(base, 'work');
  const merged = join(base, 'merged');
  for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true });
  return { lowers, names, upper, work, merged };
}

function checkMerged(merged: string, upper: string, n: number) {
  const names = readdirSync(merged);
  assert.is(names.length, n + 1, `${n} only-<i> files and shared`);
  for (let i = 0; i < n; i++) assert.ok(names.includes(`only-${i}`), `only-${i} visible`);
  assert.is(readFileSync(join(merged, 'shared'), 'utf8'), `layer ${n - 1}`, 'the top layer wins');
  assert.is(readFileSync(join(merged, 'only-0'), 'utf8'), 'layer 0', 'the bottom layer shows through');
  writeFileSync(join(merged, 'written'), 'through the mount');
  assert.is(readFileSync(join(upper, 'written'), 'utf8'), 'through the mount');
  const entry = readMountinfo().find((m) => m.mountPoint === merged);
  assert.ok(entry, 'the merged dir is in mountinfo');
  assert.is(entry?.fstype, 'overlay');
}

async function mountAndCheck(
  plan: ReturnType<typeof planOverlayMount>,
  merged: string,
  upper: string,
  n: number,
) {
  await runPlan(plan);
  try {
    assert.ok(isMountpoint(merged));
    checkMerged(merged, upper, n);
  } finally {
    umount2(merged, MNT_DETACH);
  }
  assert.not.ok(isMountpoint(merged), 'unmounted again');
}

const plans = suite('fallback overlay plans without lowerdir+');

plans.before(() => {
  if (isRoot) store = buildStore();
});

plans.after(() => {
  if (store) rmSync(store.dir, { recursive: true, force: true });
});

for (const n of [128, MAX]) {
  plans(`${n} layers: absolute paths do not fit one page`, () => {
    if (!store) return console.log('skip: needs root');
    const { lowers, upper, work, merged } = stack(store, n, `abs-${n}`, 'long');
    try {
      planOverlayMount({ target: merged, lowers, upper, work, strategy: 'absolute' });
      assert.unreachable('absolute should not fit');
    } catch (error) {
      assert.instance(error, MountOptsError);
      assert.is((error as MountOptsError).code, 'ERR_OVL_DATA_TOO_LONG');
    }
  });

  plans(`${n} layers: fd-relative plan mounts`, async () => {
    if (!store) return console.log('skip: needs root');
    const { lowers, upper, work, merged } = stack(store, n, `fd-${n}`, 'long');
    const plan = planOverlayMount({
      target: merged,
      lowers,
      upper,
      work,
      kernel: { lowerdirPlus: false },
      strategy: 'fd-relative',
    });
    assert.is(plan.strategy, 'fd-relative');
    assert.ok(plan.dataBytes < plan.pageSize);
    await mountAndCheck(plan, merged, upper, n);
  });

  plans(`${n} layers: link-relative plan mounts`, async () => {
    if (!store) return console.log('skip: needs root');
    // 26-character IDs fit 128 layers in a page; 500 need containers/storage-style shorter names
    const { lowers, names, upper, work, merged } = stack(store, n, `link-${n}`, n > 128 ? 'short' : 'long');
    const plan = planOverlayMount({
      target: merged,
      lowers,
      upper,
      work,
      kernel: { lowerdirPlus: false },
      links: { home: store.home, names },
      strategy: 'link-relative',
    });
    assert.is(plan.strategy, 'link-relative');
    assert.ok(plan.dataBytes < plan.pageSize);
    await mountAndCheck(plan, merged, upper, n);
  });

  plans(`${n} layers: auto with this kernel's probed features mounts`, async () => {
    if (!store) return console.log('skip: needs root');
    const { lowers, upper, work, merged } = stack(store, n, `auto-${n}`, 'long');
    const kernel = probeOverlayFeatures();
    const plan = planOverlayMount({ target: merged, lowers, upper, work, kernel });
    console.log(`  kernel ${release()}: ${n} layers, features ${JSON.stringify(kernel)} -> ${plan.strategy}`);
    await mountAndCheck(plan, merged, upper, n);
  });
}

plans('501 layers are refused before any mount', () => {
  if (!store) return console.log('skip: needs root');
  const lowers = [...store.diffs, join(store.home, 'one-more')];
  try {
    planOverlayMount({ target: join(store.home, 'x'), lowers, kernel: { lowerdirPlus: false } });
    assert.unreachable('501 layers should be refused');
  } catch (error) {
    assert.is((error as MountOptsError).code, 'ERR_OVL_MAX_DEPTH');
  }
});

plans.run();
