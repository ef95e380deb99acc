// Runs inside the test VM (Debian's 6.1 kernel) and, harmlessly, on any host as root: a plain
// two-layer overlay through @ovl/syscall, and what this kernel's overlayfs accepts. The facts asserted
// are tied to the kernel version, so the same file passes on 6.1 and on 6.18 and fails if a probe lies.
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const isRoot = process.getuid?.() === 0;
const [major = 0, minor = 0] = release().split('.').map(Number);
const atLeast = (maj: number, min: number) => major > maj || (major === maj && minor >= min);

function scratch(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const sub = (...parts: string[]) => {
    const p = join(dir, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  };
  return { dir, sub, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function unmountQuietly(target: string) {
  try {
    sys.umount2(target, sys.MNT_DETACH);
  } catch {}
}

const twoLayers = suite('two-layer overlay on the running kernel');

twoLayers('merges two lowers under an upper, top layer wins, deletes leave a whiteout', () => {
  if (!isRoot) return console.log('skip: needs root to mount');
  const s = scratch('ovl-vm-two-');
  const lower1 = s.sub('lower1');
  const lower2 = s.sub('lower2');
  const upper = s.sub('upper');
  const work = s.sub('work');
  const merged = s.sub('merged');
  writeFileSync(join(lower1, 'base'), 'from lower1');
  writeFileSync(join(lower1, 'shared'), 'lower1');
  writeFileSync(join(lower2, 'shared'), 'lower2');
  writeFileSync(join(lower2, 'gone'), 'deleted later');
  let mounted = false;
  try {
    sys.mount(
      'overlay',
      merged,
      'overlay',
      0,
      `lowerdir=${lower2}:${lower1},upperdir=${upper},workdir=${work}`,
    );
    mounted = true;
    assert.equal(readdirSync(merged).sort(), ['base', 'gone', 'shared']);
    assert.is(readFileSync(join(merged, 'shared'), 'utf8'), 'lower2');
    assert.is(readFileSync(join(merged, 'base'), 'utf8'), 'from lower1');
    writeFileSync(join(merged, 'new'), 'written through');
    rmSync(join(merged, 'gone'));
    assert.is(readFileSync(join(upper, 'new'), 'utf8'), 'written through');
    const whiteout = statSync(join(upper, 'gone'));
    assert.ok(whiteout.isCharacterDevice(), 'a deleted lower file is a character device in the upper dir');
    assert.is(whiteout.rdev, 0);
    assert.is(sys.statfs(merged).fsName, 'overlay');
  } finally {
    if (mounted) unmountQuietly(merged);
    s.remove();
  }
});

twoLayers.run();

const features = suite('overlay features of this kernel');

/** Mounts a one-lower overlay with `extra` options; returns 'ok' or the errno code. */
function tryOptions(extra: string, upperFs?: 'tmpfs'): string {
  const s = scratch('ovl-vm-probe-');
  const lower = s.sub('lower');
  const upperBase = s.sub('upper-base');
  const merged = s.sub('merged');
  let tmpfsMounted = false;
  let mounted = false;
  try {
    if (upperFs) {
      sys.mount('tmpfs', upperBase, 'tmpfs', 0, 'mode=755');
      tmpfsMounted = true;
    }
    const upper = join(upperBase, 'upper');
    const work = join(upperBase, 'work');
    mkdirSync(upper);
    mkdirSync(work);
    const data = `lowerdir=${lower},upperdir=${upper},workdir=${work}${extra ? `,${extra}` : ''}`;
    sys.mount('overlay', merged, 'overlay', 0, data);
    mounted = true;
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    if (mounted) unmountQuietly(merged);
    if (tmpfsMounted) unmountQuietly(upperBase);
    s.remove();
  }
}

function fsconfigAccepts(key: string): boolean | string {
  const api = sys as unknown as Record<string, unknown>;
  if (typeof api.fsopen !== 'function') return 'no fsopen in @ovl/syscall';
  const fsopen = api.fsopen as (t: string) => number;
  const setString = api.fsconfigSetString as (fd: number, k: string, v: string) => void;
  let fd = -1;
  try {
    fd = fsopen('overlay');
    setString(fd, key, '/');
    return true;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

features('lowerdir+ exists exactly from 6.8 on', () => {
  if (!isRoot) return console.log('skip: needs root for fsopen("overlay")');
  const plus = fsconfigAccepts('lowerdir+');
  if (typeof plus === 'string') return console.log(`skip: ${plus}`);
  // Before 6.5 overlay had no fsconfig parser: the kernel's legacy shim accepts ANY key and only
  // fails at FSCONFIG_CMD_CREATE, so an accepted key alone proves nothing. A nonsense key tells.
  const legacy = fsconfigAccepts('ovl_no_such_key') === true;
  const supported = plus === true && !legacy;
  console.log(
    `  kernel ${release()}: fsconfig lowerdir+ ${plus ? 'accepted' : 'refused'}, legacy parser ${legacy}`,
  );
  assert.is(supported, atLeast(6, 8));
  assert.is(legacy, !atLeast(6, 5));
});

features('@ovl/syscall probeOverlayFeatures agrees with the kernel version', () => {
  if (!isRoot) return console.log('skip: needs root for fsopen("overlay")');
  const probe = (sys as unknown as Record<string, unknown>).probeOverlayFeatures;
  if (typeof probe !== 'function') return console.log('skip: @ovl/syscall has no probeOverlayFeatures yet');
  const found = (probe as () => { lowerdirPlus: boolean; setFd: boolean })();
  console.log(`  kernel ${release()}: probeOverlayFeatures() = ${JSON.stringify(found)}`);
  assert.is(found.lowerdirPlus, atLeast(6, 8), 'lowerdir+ (6.8+)');
  assert.is(found.setFd, atLeast(6, 13), 'FSCONFIG_SET_FD layers (6.13+)');
});

features('volatile, metacopy, redirect_dir and userxattr as this kernel answers them', () => {
  if (!isRoot) return console.log('skip: needs root to mount');
  const answers: Record<string, string> = {
    plain: tryOptions(''),
    volatile: tryOptions('volatile'),
    'metacopy=on': tryOptions('metacopy=on'),
    'redirect_dir=on': tryOptions('redirect_dir=on'),
    'userxattr (tmpfs upper)': tryOptions('userxattr', 'tmpfs'),
    'bogus option': tryOptions('no_such_option_ovl'),
  };
  console.log(`  kernel ${release()} overlay options: ${JSON.stringify(answers)}`);
  assert.is(answers.plain, 'ok');
  assert.is(answers['bogus option'], 'EINVAL');
  // volatile since 5.10, metacopy and redirect_dir as options since 4.19
  assert.is(answers.volatile, atLeast(5, 10) ? 'ok' : 'EINVAL');
  assert.is(answers['metacopy=on'], 'ok');
  assert.is(answers['redirect_dir=on'], 'ok');
  // userxattr is an option since 5.11; it mounts even where the upper cannot hold user.* xattrs
  // (overlay falls back and warns), so the fact a driver must check is the upper's xattr support below.
  assert.is(answers['userxattr (tmpfs upper)'], atLeast(5, 11) ? 'ok' : 'EINVAL');
});

features('tmpfs stores user.* xattrs (what userxattr needs of an upper) exactly from 6.6 on', () => {
  if (!isRoot) return console.log('skip: needs root to mount tmpfs');
  const s = scratch('ovl-vm-uxattr-');
  let mounted = false;
  try {
    sys.mount('tmpfs', s.dir, 'tmpfs', 0, 'mode=755');
    mounted = true;
    writeFileSync(join(s.dir, 'f'), '');
    let stored: string;
    try {
      sys.lsetxattr(join(s.dir, 'f'), 'user.overlay.opaque', 'y');
      stored = String(sys.lgetxattr(join(s.dir, 'f'), 'user.overlay.opaque'));
    } catch (error) {
      stored = (error as { code?: string }).code ?? String(error);
    }
    console.log(`  kernel ${release()}: user.* xattr on tmpfs -> ${stored}`);
    // EOPNOTSUPP and ENOTSUP are the same errno (95) on Linux; accept either name
    assert.is(stored === 'ENOTSUP' ? 'EOPNOTSUPP' : stored, atLeast(6, 6) ? 'y' : 'EOPNOTSUPP');
  } finally {
    if (mounted) unmountQuietly(s.dir);
    s.remove();
  }
});

features.run();
