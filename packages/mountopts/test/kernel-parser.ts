// A small model of how the kernel reads overlay mount data, written from fs/overlayfs/params.c for the
// tests (independent of src/escape.ts): ovl_next_opt splits at unescaped commas, the key ends at the
// first '=', ovl_parse_param_split_lowerdirs splits lowerdir at unescaped ':' ('::' before data-only
// layers), ovl_unescape drops each backslash and keeps the next character. The SELinux context option is
// taken out first, honouring double quotes, as selinux_sb_eat_lsm_opts does.

export interface KernelView {
  lowers: string[];
  dataOnly: string[];
  upper?: string;
  work?: string;
  context?: string;
  /** other options in order, `key` or `key=value` */
  options: string[];
}

function unescapeName(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    if (i < s.length) out += s[i];
  }
  return out;
}

function eatContext(data: string): { rest: string; context?: string } {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of data) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  let context: string | undefined;
  const rest = parts.filter((p) => {
    if (!p.startsWith('context=')) return true;
    context = p.slice('context='.length).replace(/^"(.*)"$/, '$1');
    return false;
  });
  return context === undefined ? { rest: rest.join(',') } : { rest: rest.join(','), context };
}

function splitOptions(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function splitLowerdir(v: string): { lowers: string[]; dataOnly: string[] } {
  if (v.startsWith(':')) throw new Error('EINVAL: cannot append lower layer');
  const comps: Array<{ name: string; data: boolean }> = [];
  let cur = '';
  let data = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\') {
      cur += c + (v[i + 1] ?? '');
      i++;
      continue;
    }
    if (c !== ':') {
      cur += c;
      continue;
    }
    let n = 1;
    while (v[i + n] === ':') n++;
    if (n > 2) throw new Error('EINVAL: :::');
    if (i + n === v.length) throw new Error('EINVAL: trailing colons');
    comps.push({ name: cur, data });
    cur = '';
    if (n === 2) data = true;
    else if (data) throw new Error('EINVAL: regular layer after data layer');
    i += n - 1;
  }
  comps.push({ name: cur, data });
  for (const c of comps) if (unescapeName(c.name) === '') throw new Error('EINVAL: empty lowerdir');
  return {
    lowers: comps.filter((c) => !c.data).map((c) => unescapeName(c.name)),
    dataOnly: comps.filter((c) => c.data).map((c) => unescapeName(c.name)),
  };
}

/** What the kernel would see in this overlay data string; throws where the kernel answers EINVAL. */
export function kernelParseOverlayData(data: string): KernelView {
  const { rest, context } = eatContext(data);
  const view: KernelView = { lowers: [], dataOnly: [], options: [] };
  if (context !== undefined) view.context = context;
  for (const opt of splitOptions(rest)) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    if (key === 'lowerdir') Object.assign(view, splitLowerdir(value));
    else if (key === 'upperdir') view.upper = unescapeName(value);
    else if (key === 'workdir') view.work = unescapeName(value);
    else view.options.push(opt);
  }
  return view;
}
