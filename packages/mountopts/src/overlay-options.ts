// overlayfs options other than the layer directories, as typed fields, turned into the `key[=value]` list
// that both mount(2) data and fsconfig(2) take. Values are checked against the kernel's tables
// (ovl_parameter_spec) so that a typo fails here rather than as a bare EINVAL from mount(2).

import { MountOptsError } from './errors.js';

export type OnOff = boolean | 'on' | 'off';

export interface OverlayExtraOptions {
  /** use `user.overlay.*` xattrs (unprivileged mounts, Linux 5.11+) */
  userxattr?: boolean;
  /** skip syncs on the upper layer; the upper dir is unusable after a crash (Linux 5.10+) */
  volatile?: boolean;
  /** metadata-only copy up: `metacopy=on|off` */
  metacopy?: OnOff;
  /** `redirect_dir=on|off|follow|nofollow` */
  redirectDir?: 'on' | 'off' | 'follow' | 'nofollow';
  /** `index=on|off` */
  index?: OnOff;
  /** `xino=on|off|auto` */
  xino?: 'on' | 'off' | 'auto';
  /** further raw options (`key` or `key=value`), e.g. from the driver's `mountopt`; written last */
  extra?: string[];
}

/** One option: a flag (`value` undefined) or `key=value`. */
export interface OverlayOption {
  key: string;
  value?: string;
}

// Options the planner writes itself; taking them from `extra` would silently mount another stack.
const MANAGED = new Set(['lowerdir', 'lowerdir+', 'upperdir', 'workdir', 'datadir+', 'context']);

function onOff(v: OnOff | undefined, key: string): string | undefined {
  if (v === undefined) return undefined;
  if (v === true || v === 'on') return 'on';
  if (v === false || v === 'off') return 'off';
  throw new MountOptsError(
    'ERR_OVL_BAD_OPTION',
    `overlay option ${key} must be on or off, got ${String(v)}`,
    {
      option: key,
    },
  );
}

function oneOf<T extends string>(v: T | undefined, key: string, allowed: readonly string[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v)) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `overlay option ${key}=${String(v)} is not one of ${allowed.join(', ')}`,
      { option: key },
    );
  }
  return v;
}

/** Split one `extra` entry into key and value, refusing what would change the meaning of the data. */
export function parseExtraOption(entry: string): OverlayOption {
  const eq = entry.indexOf('=');
  const key = eq < 0 ? entry : entry.slice(0, eq);
  if (key.length === 0 || /[\s,\0]/.test(key)) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `mount option "${entry}" has no usable key; give one option per entry, as key or key=value`,
      { option: entry },
    );
  }
  if (MANAGED.has(key)) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `mount option "${key}" is set by the planner; pass layers as lowers/upper/work and the label as label`,
      { option: key },
    );
  }
  if (eq < 0) return { key };
  const value = entry.slice(eq + 1);
  // An unescaped comma would end the option early and start another one the caller never asked for.
  if (/(^|[^\\])(\\\\)*,/.test(value) || value.includes('\0')) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `mount option "${entry}" holds an unescaped comma or NUL; split it into separate entries`,
      { option: key },
    );
  }
  return { key, value };
}

/** The options in the order they are written: typed ones first, then `extra` as given. */
export function overlayOptionList(options: OverlayExtraOptions = {}): OverlayOption[] {
  const list: OverlayOption[] = [];
  if (options.userxattr) list.push({ key: 'userxattr' });
  if (options.volatile) list.push({ key: 'volatile' });
  const metacopy = onOff(options.metacopy, 'metacopy');
  if (metacopy) list.push({ key: 'metacopy', value: metacopy });
  const redirect = oneOf(options.redirectDir, 'redirect_dir', ['on', 'off', 'follow', 'nofollow']);
  if (redirect) list.push({ key: 'redirect_dir', value: redirect });
  const index = onOff(options.index, 'index');
  if (index) list.push({ key: 'index', value: index });
  const xino = oneOf(options.xino, 'xino', ['on', 'off', 'auto']);
  if (xino) list.push({ key: 'xino', value: xino });
  for (const entry of options.extra ?? []) list.push(parseExtraOption(entry));
  return list;
}

/** `key` or `key=value`, as mount(2) data spells an option. */
export function formatOption(o: OverlayOption): string {
  return o.value === undefined ? o.key : `${o.key}=${o.value}`;
}

/**
 * The options for a mount with this layout, refusing the combinations ovl_fs_params_verify answers with
 * EINVAL (checked on Linux 6.18): userxattr with metacopy=on or with a redirect_dir other than nofollow,
 * and metacopy=on with an explicit redirect_dir other than on. Data-only layers needed metacopy before
 * Linux 6.16 relaxed it and the module default is usually off, so `metacopy=on` is added for them when the
 * caller left it unset (and userxattr, which refuses it, is not set).
 */
export function resolveOverlayOptions(
  options: OverlayExtraOptions = {},
  layout: { upper: boolean; dataOnly: boolean },
): OverlayOption[] {
  const conflict = (what: string, option: string) =>
    new MountOptsError('ERR_OVL_BAD_OPTION', `overlayfs refuses ${what}; drop one of them`, { option });
  const metacopy = onOff(options.metacopy, 'metacopy');
  // Without an upper layer the kernel reads redirect_dir=follow as on before checking.
  const redirect = options.redirectDir === 'follow' && !layout.upper ? 'on' : options.redirectDir;
  if (options.userxattr && metacopy === 'on') throw conflict('userxattr with metacopy=on', 'metacopy');
  if (options.userxattr && redirect !== undefined && redirect !== 'nofollow') {
    throw conflict(`userxattr with redirect_dir=${redirect}`, 'redirect_dir');
  }
  if (metacopy === 'on' && redirect !== undefined && redirect !== 'on') {
    throw conflict(`metacopy=on with redirect_dir=${options.redirectDir}`, 'redirect_dir');
  }
  const list = overlayOptionList(options);
  if (layout.dataOnly && metacopy === undefined && !options.userxattr)
    list.push({ key: 'metacopy', value: 'on' });
  return list;
}
