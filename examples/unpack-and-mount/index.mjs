#!/usr/bin/env node
// Unpack an image into a layer store and mount it read-only; list a few files of the merged root.
// usage: node index.mjs [IMAGE] [--driver overlay|vfs|auto]
// IMAGE is an OCI layout (dir or tar) or a docker save archive; default: the embedded example image.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountLayer, open, unmountTarget, unpackImage } from 'ovl';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const driverArg = args.indexOf('--driver');
const driverName = driverArg >= 0 ? args.splice(driverArg, 2)[1] : 'auto';
const image = args[0] ?? join(here, '..', 'embedded-image', 'image');

const home = process.env.OVL_STORE ?? mkdtempSync(join(tmpdir(), 'ovl-example-store-'));
const target = mkdtempSync(join(tmpdir(), 'ovl-example-root-'));
const driver = await open(home, { driver: driverName });
console.log(`store ${home}, driver ${driver.name}`);

const { top, layers } = await unpackImage(driver, image, {
  onProgress: (p) =>
    p.phase !== 'progress' &&
    console.log(`  layer ${p.index + 1}/${p.layers} ${p.id.slice(0, 12)} ${p.phase}`),
});
console.log(
  `unpacked ${layers.length} layers (${layers.filter((l) => l.reused).length} reused), top ${top.slice(0, 12)}`,
);

if (process.getuid?.() !== 0) {
  console.log(
    'mounting needs root (or CAP_SYS_ADMIN): run with sudo to see the mounted root; `ovl flatten` needs no root',
  );
} else {
  await mountLayer(driver, top, target);
  try {
    console.log(`mounted at ${target}:`);
    const list = (dir, rel = '') =>
      readdirSync(join(target, rel), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? [`${rel}${e.name}/`, ...list(dir, `${rel}${e.name}/`)] : [`${rel}${e.name}`],
      );
    for (const path of list(target).slice(0, 30)) console.log(`  /${path}`);
  } finally {
    await unmountTarget(driver, target);
    console.log('unmounted');
  }
}
if (!process.env.OVL_STORE) rmSync(home, { recursive: true, force: true });
rmSync(target, { recursive: true, force: true });
