#!/usr/bin/env node
// Lists an image's layers, reading each one through its verified, decompressed stream.
//   node packages/image/example/list-layers.mjs [IMAGE] [PLATFORM]
// IMAGE: an OCI layout (dir or tar) or a docker save archive; default: the repo's embedded image.
import { fileURLToPath } from 'node:url';
import { openImage } from '@ovl/image';

const path =
  process.argv[2] ?? fileURLToPath(new URL('../../../examples/embedded-image/image', import.meta.url));
const image = await openImage(path, { platform: process.argv[3] });
const { os, architecture, variant } = image.platform;
console.log(
  `${image.format} (${image.container}) ${image.refs.join(', ')} ${[os, architecture, variant].filter(Boolean).join('/')}`,
);
for (const layer of image.layers) {
  let bytes = 0;
  for await (const chunk of layer.open()) bytes += chunk.length;
  console.log(
    `layer ${layer.index}: ${layer.compression} ${layer.size} B -> ${bytes} B of tar, chain ${layer.chainId}`,
  );
}
