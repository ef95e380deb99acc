import { pipeline } from 'node:stream/promises';
import { blobPath } from './digest.js';
import { ImageError } from './errors.js';
import type { ImageFiles } from './image-files.js';
import type { Descriptor } from './oci-types.js';
import { verifyStream } from './verify-stream.js';

/** Index, manifest and config blobs are small; anything larger than this is refused rather than buffered. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Reads a descriptor's JSON blob, verifying its size and digest before parsing it. */
export async function readJsonBlob<T>(files: ImageFiles, desc: Descriptor, what: string): Promise<T> {
  const name = blobPath(desc.digest);
  const size = await files.size(name);
  if (size === undefined) {
    throw new ImageError(
      'ERR_OVL_MISSING_BLOB',
      `${what} blob ${desc.digest} is missing from ${files.location}`,
      {
        digest: desc.digest,
        path: name,
      },
    );
  }
  if (size > MAX_JSON_BYTES) {
    throw new ImageError(
      'ERR_OVL_BAD_IMAGE',
      `${what} blob ${desc.digest} is ${size} bytes; JSON blobs over 16 MiB are refused`,
      {
        digest: desc.digest,
        path: name,
      },
    );
  }
  const chunks: Buffer[] = [];
  await pipeline(
    files.stream(name),
    verifyStream({ digest: desc.digest, size: desc.size, what: `${what} blob ${desc.digest}` }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    },
  );
  return parseJson<T>(Buffer.concat(chunks), `${what} blob ${desc.digest}`);
}

/** Reads a plain JSON file (index.json, manifest.json, oci-layout) that no digest names. */
export async function readJsonFile<T>(files: ImageFiles, name: string): Promise<T | undefined> {
  const size = await files.size(name);
  if (size === undefined) return undefined;
  if (size > MAX_JSON_BYTES) {
    throw new ImageError('ERR_OVL_BAD_IMAGE', `${name} in ${files.location} is over 16 MiB`, { path: name });
  }
  return parseJson<T>(await files.read(name, 0, size), `${name} in ${files.location}`);
}

export function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch (cause) {
    throw new ImageError('ERR_OVL_BAD_IMAGE', `${what} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}
