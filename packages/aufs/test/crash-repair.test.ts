// What a crash leaves behind (mid-create, mid-remove, mid-apply) is gone after the next init, and whole
// layers are untouched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { recordedDriver, sha, tempHome } from './fixtures.js';

const Crash = suite('init repairs a crashed store');

Crash('half-created and half-removed layers and stale staging dirs are deleted', async () => {
  const t = tempHome('crash');
  try {
    const { driver } = await recordedDriver(t.home);
    const keep = sha('keep');
    const top = sha('top');
    await driver.create(keep);
    writeFileSync(join(t.home, 'diff', keep, 'file'), 'kept');
    await driver.create(top, keep);
    // a process that is gone now owned the hidden entries below
    const dead = spawnSync('true');
    const owner = `${dead.pid}_1_deadbeef`;
    // remove of `top` died after dropping layers/<id> (the commit record) and hiding diff
    rmSync(join(t.home, 'layers', top));
    const hidden = join(t.home, 'diff', `.removing-${top}-${owner}`);
    mkdirSync(hidden);
    writeFileSync(join(hidden, 'x'), 'x');
    rmSync(join(t.home, 'diff', top), { recursive: true });
    // create of `half` died before writing layers/<id>
    const half = sha('half');
    mkdirSync(join(t.home, 'diff', half));
    mkdirSync(join(t.home, 'mnt', half));
    // applyDiff died mid-way in its staging dir
    const staging = join(t.home, 'diff', `.tmp-apply-${keep}-${owner}`);
    mkdirSync(staging);
    writeFileSync(join(staging, 'partial'), 'p');

    const again = await recordedDriver(t.home);
    assert.equal(readdirSync(join(t.home, 'diff')), [keep]);
    assert.equal(readdirSync(join(t.home, 'mnt')), [keep]);
    assert.equal(readdirSync(join(t.home, 'layers')), [keep]);
    assert.is(readFileSync(join(t.home, 'diff', keep, 'file'), 'utf8'), 'kept');
    assert.ok(await again.driver.exists(keep));
    assert.not.ok(await again.driver.exists(top));
    assert.not.ok(existsSync(staging));
  } finally {
    t.cleanup();
  }
});

Crash.run();
