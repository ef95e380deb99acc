// Every example runs as its README says and prints what it promises.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const examples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples');
const root = process.getuid?.() === 0;
const overlay = readFileSync('/proc/filesystems', 'utf8').includes('overlay');
const run = (name, args = []) => {
  const r = spawnSync(process.execPath, [join(examples, name, 'index.mjs'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const have = (cmd, arg = '--version') => spawnSync(cmd, [arg]).status === 0;
/** As root, runs an example as the unprivileged user nobody (what a user without sudo sees). */
const runAsNobody = (name) => {
  const r = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(examples, name, 'index.mjs')],
    { encoding: 'utf8', cwd: '/tmp', env: { ...process.env, HOME: '/tmp' } },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const Examples = suite('examples');

Examples('mountopts-alone plans fsconfig with lowerdir+, fd-relative without, and aufs appends', () => {
  const r = run('mountopts-alone');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /with lowerdir\+: strategy fsconfig/);
  assert.match(r.out, /without lowerdir\+: strategy (fd-relative|link-relative)/);
  assert.match(r.out, /aufs: [2-9] mount calls for 60 read-only branches/);
});

Examples('flatten prints the embedded image root', () => {
  const r = run('flatten');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /flattened 3 layers into (\S+):/);
  for (const p of ['/etc/hostname', '/usr/bin/greet-again', '/srv/www/index.html'])
    assert.ok(r.out.includes(`  ${p}\n`), p);
  assert.not.match(r.out, /etc\/motd|\.wh\./);
  rmSync(r.out.match(/into (\S+):/)[1], { recursive: true, force: true });
});

if (root && have('setpriv', '--help')) {
  Examples(
    'without root: flatten works, unpack-and-mount falls back to vfs and says mounting needs root',
    () => {
      const f = runAsNobody('flatten');
      assert.is(f.code, 0, f.err);
      const dir = f.out.match(/into (\S+):/)[1];
      assert.ok(f.out.includes('  /usr/bin/greet-again\n'), f.out);
      rmSync(dir, { recursive: true, force: true });
      const u = runAsNobody('unpack-and-mount');
      assert.is(u.code, 0, u.err);
      assert.match(u.out, /driver vfs/);
      assert.match(u.out, /unpacked 3 layers \(0 reused\)/);
      assert.match(u.out, /mounting needs root/);
      assert.not.match(u.out, /mounted at/);
    },
  );
} else console.log('unprivileged example runs skipped: not root or no setpriv');

if (!root || !overlay) {
  console.log(`mounting examples skipped: ${!root ? 'not root' : 'no overlay in this kernel'}`);
} else {
  Examples('unpack-and-mount lists the merged root of the embedded image', () => {
    const r = run('unpack-and-mount');
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /driver overlay/);
    assert.match(r.out, /unpacked 3 layers \(0 reused\)/);
    assert.match(r.out, /\n {2}\/etc\/app\/app\.conf\n/);
    assert.not.match(r.out, /extra\.conf|motd|\/opt\/old/);
    assert.match(r.out, /unmounted\n$/);
  });

  Examples('mount-by-hand shows the whiteout and the opaque dir at work', () => {
    const r = run('mount-by-hand');
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /\/etc\/hostname\s+"top\\n"/);
    assert.match(r.out, /\/cache\/fresh/);
    const tree = r.out.split('\n').filter((l) => l.startsWith('  /'));
    assert.not.ok(
      tree.some((l) => /old-1|old-2|motd/.test(l)),
      tree.join('\n'),
    );
  });

  Examples('commit writes an OCI image that umoci unpacks with the change', () => {
    const r = run('commit');
    assert.is(r.code, 0, r.err);
    const dir = r.out.match(/OCI image in (\S+),/)[1];
    if (spawnSync('umoci', ['--version']).status === 0) {
      const bundle = `${dir}-bundle`;
      execFileSync('umoci', ['unpack', '--image', `${dir}:committed`, bundle], { stdio: 'pipe' });
      assert.is(
        readFileSync(join(bundle, 'rootfs', 'hello-from-commit.txt'), 'utf8'),
        'written in a read-write ovl mount\n',
      );
      assert.not.ok(existsSync(join(bundle, 'rootfs', 'etc', 'hostname')));
      assert.is(readFileSync(join(bundle, 'rootfs', 'etc', 'app', 'app.conf'), 'utf8'), 'mode=top\n');
      rmSync(bundle, { recursive: true, force: true });
    } else console.log('umoci check skipped: umoci not installed');
    if (have('skopeo')) {
      // skopeo copy reads and verifies every blob; the copy has the image's 3 layers plus the new one
      const copy = `${dir}-skopeo`;
      execFileSync('skopeo', ['copy', '-q', `oci:${dir}:committed`, `oci:${copy}:copied`], { stdio: 'pipe' });
      const inspect = JSON.parse(
        execFileSync('skopeo', ['inspect', `oci:${copy}:copied`], { encoding: 'utf8' }),
      );
      assert.is(inspect.Layers.length, 4);
      rmSync(copy, { recursive: true, force: true });
    } else console.log('skopeo check skipped: skopeo not installed');
    rmSync(dir, { recursive: true, force: true });
  });
}

Examples.run();
