// Finds a script built next to this module (dist/plan-helper.js in ESM, .cjs in CJS), or its .ts
// source when running from sources under tsx (tests), together with the flags to start it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SiblingScript {
  script: string;
  execArgv: string[];
}

const cache = new Map<string, SiblingScript>();

export function siblingScript(name: string): SiblingScript {
  let found = cache.get(name);
  if (found) return found;
  // import.meta.url in the ESM build, __filename in the CJS one (where tsup leaves import.meta empty).
  // Not `typeof __filename` first: `node -e` and the REPL have a global __filename ('[eval]').
  const url: string | undefined = import.meta.url;
  const here = url ? fileURLToPath(url) : __filename;
  const ext = here.endsWith('.ts') ? '.ts' : here.endsWith('.cjs') ? '.cjs' : '.js';
  const script = join(dirname(here), `${name}${ext}`);
  if (!existsSync(script)) {
    throw new Error(
      `@ovl/syscall: ${name}${ext} is missing next to ${here}; reinstall or rebuild the package`,
    );
  }
  // From sources the caller already runs under tsx (`--import tsx`): the child gets the same flags.
  found = { script, execArgv: ext === '.ts' ? process.execArgv : [] };
  cache.set(name, found);
  return found;
}
