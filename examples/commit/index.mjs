#!/usr/bin/env node
// Mount an image read-write, change something, and commit the change as a new layer in the store and
// as an OCI image layout that umoci and skopeo read. Needs root (it mounts).
// usage: sudo node index.mjs [IMAGE] [OUT_OCI_DIR]
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitMount, mountLayer, open, unmountTarget, unpackImage } from 'ovl';

const here = dirname(fileURLToPath(import.meta.url));
const image = process.argv[2] ?? join(here, '..', 'embedded-image', 'image');
const out = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'ovl-committed-'));
if (process.getuid?.() !== 0) {
  console.error('this example mounts: run it as root');
  process.exit(4);
}
const home = mkdtempSync(join(tmpdir(), 'ovl-example-store-'));
const target = mkdtempSync(join(tmpdir(), 'ovl-example-rw-'));
const driver = await open(home);
const { top } = await unpackImage(driver, image);
await mountLayer(driver, top, target, { readWrite: true, image });
try {
  writeFileSync(join(target, 'hello-from-commit.txt'), 'written in a read-write ovl mount\n');
  try {
    unlinkSync(join(target, 'etc', 'hostname'));
  } catch {}
  const result = await commitMount(driver, target, { oci: out, ref: 'committed' });
  console.log(`new layer ${result.layer} (diffID ${result.diffId}, ${result.tarBytes} tar bytes)`);
  console.log(
    `OCI image in ${out}, manifest ${result.oci?.manifestDigest}; try: umoci unpack --image ${out}:committed bundle`,
  );
} finally {
  await unmountTarget(driver, target);
  rmSync(home, { recursive: true, force: true });
  rmSync(target, { recursive: true, force: true });
}
