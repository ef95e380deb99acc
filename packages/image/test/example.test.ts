import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const PKG = resolve(import.meta.dirname ?? __dirname, '..');

test('the README example lists the embedded image’s three layers (needs dist/: pnpm build)', () => {
  if (!existsSync(join(PKG, 'dist', 'index.js'))) return console.log('skipped: dist/ not built');
  const r = spawnSync(
    process.execPath,
    [
      join(PKG, 'example', 'list-layers.mjs'),
      join(PKG, '../../examples/embedded-image/image'),
      'linux/arm64/v8',
    ],
    {
      encoding: 'utf8',
    },
  );
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines[0], 'oci-layout (directory) latest linux/arm64/v8');
  assert.is(lines.length, 4);
  assert.match(lines[1]!, /^layer 0: gzip \d+ B -> \d+ B of tar, chain sha256:[0-9a-f]{64}$/);
});

test.run();
