#!/usr/bin/env node
// Flatten an image into a plain directory: no mount, no store, no root needed (as non-root, files are
// owned by you and device nodes are skipped, as `umoci unpack --rootless` does).
// usage: node index.mjs [IMAGE] [DIR]
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flattenImage } from 'ovl';

const here = dirname(fileURLToPath(import.meta.url));
const image = process.argv[2] ?? join(here, '..', 'embedded-image', 'image');
const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'ovl-flat-'));

const result = await flattenImage(image, dir);
console.log(
  `flattened ${result.layers} layers into ${dir}: ${result.entries} entries, ${result.bytes} bytes`,
);
console.log(
  readdirSync(dir, { recursive: true })
    .sort()
    .slice(0, 40)
    .map((p) => `  /${p}`)
    .join('\n'),
);
