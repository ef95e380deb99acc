// Path escaping by overlayfs's own rules (fs/overlayfs/params.c): option strings are split at unescaped
// `,` (ovl_next_opt), `lowerdir` at unescaped `:` (ovl_parse_param_split_lowerdirs), and every path is then
// unescaped by dropping each backslash and keeping the character after it (ovl_unescape). Docker,
// containers/storage and containerd write paths raw, so a layer path with `:` or `,` silently names other
// directories there; here it is escaped.

import { MountOptsError } from './errors.js';

const SPECIAL = /[\\:,]/g;
const HAS_SPECIAL = /[\\:,]/;

/** Escape `\`, `:` and `,` with a backslash so overlayfs reads `p` back unchanged. */
export function escapeOverlayPath(p: string): string {
  return HAS_SPECIAL.test(p) ? p.replace(SPECIAL, (c) => `\\${c}`) : p;
}

/** The kernel's ovl_unescape: drop each backslash, keep the character after it. */
export function unescapeOverlayPath(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    let c = s[i]!;
    if (c === '\\') {
      i++;
      if (i >= s.length) break; // a lone trailing backslash escapes the NUL: the kernel drops it
      c = s[i]!;
    }
    out += c;
  }
  return out;
}

/**
 * Check a directory path before it goes into mount data. `what` names the role for the message
 * ("lower layer 3", "upperdir"). Absolute is required because the fd- and link-relative strategies mount
 * from another working directory, where a relative path would name something else.
 */
export function checkMountPath(p: string, what: string, opts: { absolute?: boolean } = {}): void {
  if (typeof p !== 'string' || p.length === 0) {
    throw new MountOptsError('ERR_OVL_BAD_PATH', `${what} is an empty path; overlayfs refuses empty layers`, {
      path: String(p),
    });
  }
  if (p.includes('\0')) {
    throw new MountOptsError(
      'ERR_OVL_BAD_PATH',
      `${what} contains a NUL byte, which no mount call can carry`,
      {
        path: p,
      },
    );
  }
  if ((opts.absolute ?? true) && !p.startsWith('/')) {
    throw new MountOptsError(
      'ERR_OVL_BAD_PATH',
      `${what} "${p}" is not absolute; pass an absolute path (relative names are the planner's job)`,
      { path: p },
    );
  }
}

/** A `lowerdir=` value split the way the kernel splits it. */
export interface ParsedLowerdir {
  /** regular lower layers, top first, unescaped */
  layers: string[];
  /** data-only lower layers (after `::`, Linux 6.5+), unescaped */
  dataOnly: string[];
}

/**
 * Parse a `lowerdir=` value by the kernel's rules and throw ERR_OVL_BAD_PATH where the kernel answers
 * EINVAL: a leading `:` ("cannot append lower layer"), `:::` or longer, trailing colons, an empty
 * component, and a regular layer after a data-only one.
 */
export function parseLowerdir(value: string): ParsedLowerdir {
  const bad = (why: string) =>
    new MountOptsError('ERR_OVL_BAD_PATH', `lowerdir "${value}" is refused by overlayfs: ${why}`, {
      path: value,
    });
  if (value.startsWith(':')) throw bad('a leading ":" (the kernel reads it as "append a layer")');
  const layers: string[] = [];
  const dataOnly: string[] = [];
  let current = '';
  let sawData = false;
  let i = 0;
  const push = () => {
    const name = unescapeOverlayPath(current);
    if (name.length === 0) throw bad('an empty layer between separators');
    (sawData ? dataOnly : layers).push(name);
    current = '';
  };
  while (i < value.length) {
    const c = value[i]!;
    if (c === '\\') {
      current += value.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c !== ':') {
      current += c;
      i++;
      continue;
    }
    let colons = 0;
    while (value[i + colons] === ':') colons++;
    if (colons > 2) throw bad('three or more unescaped colons in a row');
    if (i + colons === value.length) throw bad('unescaped trailing colons');
    const wasData = sawData;
    push();
    if (colons === 2) sawData = true;
    else if (wasData) throw bad('a regular layer after a data-only layer');
    i += colons;
  }
  if (value.length > 0) push();
  return { layers, dataOnly };
}
