import { TarError } from '../errors.js';
import type { IdMapping } from './options.js';

/** Maps a container id to a host id through `map`; without a map the id is kept. */
export function mapId(id: number, map: IdMapping[] | undefined, kind: 'uid' | 'gid', entry: string): number {
  if (!map || map.length === 0) return id;
  for (const m of map) {
    if (id >= m.containerId && id < m.containerId + m.size) return m.hostId + (id - m.containerId);
  }
  throw new TarError(
    'ERR_OVL_UNMAPPED_ID',
    `${kind} ${id} of entry '${entry}' has no mapping in the ${kind}Map; extend the map to cover it`,
    { entry },
  );
}
