import { digestOf } from './digest.js';

/**
 * Chain IDs as the OCI image spec defines them: ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). A chain ID names a layer *with* everything below it,
 * so a store can reuse an unpacked layer whenever the same chain appears in another image.
 * https://github.com/opencontainers/image-spec/blob/main/config.md#layer-chainid
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diffId : digestOf(`${parent} ${diffId}`));
  }
  return out;
}
