// Runs inside the test VM (Debian's 6.1 kernel) and on any host as root: the overlay driver's reaction
// to what the running kernel's overlayfs does. With redirect_dir=on or metacopy=on in the mount options
// an upper dir no longer describes its layer by itself (a renamed lower dir is a redirect xattr, a chmod
// a metadata-only copy), so the driver must say "no native diff" and produce the naive diff, whose
// layer tar rebuilds the merged tree exactly. Without those options the upper alone is the diff.
// With userxattr the store must hold user.* xattrs: tmpfs does only from 6.6, so 6.1 must refuse it.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayDriver } from '@ovl/overlay';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const isRoot = process.getuid?.() === 0;
const [major = 0, minor = 0] = release().split('.').map(Number);
const atLeast = (maj: number, min: number) => major > maj || (major === maj && minor >= min);
const test = suite('overlay driver: reactions to kernel features');

function status(entries: Array<[string, string]>): Record<string, string> {
  return Object.fromEntries(entries);
}

/**
 * Base layer with dir d1/f and file g (0644); a child that renames d1 → d2 and chmods g to 0600
 * through its mount; its diff applied on the same base into a fresh layer must show the same tree.
 */
async function renameAndChmod(mountopt: string) {
  const home = mkdtempSync(join(tmpdir(), 'ovl-vm-driver-'));
  try {
    const d = await OverlayDriver.init(home, {
      driverOptions: mountopt ? [`overlay.mountopt=${mountopt}`] : [],
    });
    await d.create('base');
    const baseDiff = await d.get('base');
    mkdirSync(join(baseDiff, 'd1'));
    writeFileSync(join(baseDiff, 'd1', 'f'), 'in d1');
    writeFileSync(join(baseDiff, 'g'), 'g content, long enough to be worth a metacopy');
    chmodSync(join(baseDiff, 'g'), 0o644);
    await d.put('base');

    await d.createReadWrite('ctr', 'base');
    const merged = await d.get('ctr');
    let renamed = true;
    try {
      renameSync(join(merged, 'd1'), join(merged, 'd2'));
    } catch (err) {
      // without redirect_dir the kernel refuses to rename a lower dir: tools then copy it
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      renamed = false;
    }
    chmodSync(join(merged, 'g'), 0o600);
    await d.put('ctr');

    const st = status(await d.status());
    await d.create('copy', 'base');
    await d.applyDiff('copy', 'base', d.diff('ctr'));
    const copy = await d.get('copy', { readOnly: true });
    try {
      return {
        st,
        renamed,
        d1: existsQuiet(join(copy, 'd1')),
        d2f: renamed ? readFileSync(join(copy, 'd2', 'f'), 'utf8') : undefined,
        g: readFileSync(join(copy, 'g'), 'utf8'),
        gMode: statSync(join(copy, 'g')).mode & 0o7777,
      };
    } finally {
      await d.put('copy');
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function existsQuiet(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

for (const mountopt of ['', 'redirect_dir=on', 'metacopy=on']) {
  test(`mountopt "${mountopt || '(none)'}": native diff only where correct, and the layer rebuilds the tree`, async () => {
    if (!isRoot) return console.log('  skip: needs root to mount');
    const r = await renameAndChmod(mountopt);
    const native = r.st['Native Overlay Diff'] ?? '';
    console.log(
      `  kernel ${release()}, mountopt "${mountopt}": native diff ${native}, lower dir renamed: ${r.renamed}`,
    );
    if (mountopt) {
      assert.match(native, /^false/, `${mountopt} must turn the native diff off`);
      // metacopy=on turns redirect_dir on too (kernel docs, "Metadata only copy up"), so either
      // reason may be the one found first
      assert.match(native, /redirect_dir|metacopy/);
    }
    // Debian's 6.1 and this project's hosts build redirect_dir and metacopy off by default
    else assert.is(native, 'true');
    assert.is(r.renamed, mountopt !== '', 'a lower dir renames only with redirect_dir (or metacopy)');
    if (r.renamed) {
      assert.is(r.d1, false, 'd1 is gone in the applied layer');
      assert.is(r.d2f, 'in d1', 'd2 carries d1 content');
    }
    assert.is(r.g, 'g content, long enough to be worth a metacopy', 'chmod kept the content');
    assert.is(r.gMode, 0o600);
  });
}

test('userxattr on a tmpfs store: refused before 6.6 (no user.* xattrs there), opaque dirs kept after', async () => {
  if (!isRoot) return console.log('  skip: needs root to mount');
  const home = mkdtempSync(join(tmpdir(), 'ovl-vm-uxattr-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'tmpfs', home]);
  try {
    const init = OverlayDriver.init(home, { driverOptions: ['overlay.userxattr=true'] });
    if (!atLeast(6, 6)) {
      const err = await init.then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      assert.ok(err, `init on tmpfs with userxattr must fail on ${release()}`);
      assert.is(err.code, 'ERR_OVL_NOT_SUPPORTED');
      assert.match(err.message, 'user.* xattrs');
      assert.match(err.message, '6.6');
      return console.log(`  ${release()}: refused: ${err.message.slice(0, 90)}…`);
    }
    const d = await init;
    await d.create('base');
    mkdirSync(join(home, 'base', 'diff', 'dir'));
    writeFileSync(join(home, 'base', 'diff', 'dir', 'old'), 'old');
    await d.createReadWrite('ctr', 'base');
    const merged = await d.get('ctr');
    rmSync(join(merged, 'dir'), { recursive: true });
    mkdirSync(join(merged, 'dir'));
    writeFileSync(join(merged, 'dir', 'new'), 'new');
    await d.put('ctr');
    // the kernel marked the re-made dir opaque in user.overlay.*: the old file stays hidden
    const again = await d.get('ctr');
    assert.equal(readdirSync(join(again, 'dir')), ['new']);
    await d.put('ctr');
  } finally {
    execFileSync('umount', ['-l', home]);
    rmSync(home, { recursive: true, force: true });
  }
});

test.run();
