/**
 * A strict model of what the aufs kernel module accepts in mount(2) data, used by the tests to check every
 * data string the planner and the driver emit. It follows aufs's option table (fs/aufs/opt.c, aufs(5)):
 *
 * - options are separated by `,`; an SELinux label `context="a:b:c:s0:c1,c2"` may hold commas inside quotes
 *   (the LSM eats it before aufs sees the rest);
 * - `br:` / `br=` (alias `dirs=`) lists branches separated by `:`, each `PATH=PERM` where PERM is `rw`,
 *   `rw+nolwh`, `ro`, `ro+wh`, `rr` or `rr+wh`; a path can hold neither `:` nor `,` (aufs has no escapes);
 * - `append:` / `append=` adds one branch at the bottom; like `add`, `ins`, `prepend`, `del` and `mod` it is a
 *   remount option;
 * - `xino=PATH` (absolute), and the flags `dio`, `dirperm1`, ... take no value;
 * - the data, with its NUL, must fit one page: longer data is silently truncated by the kernel.
 *
 * It is stricter than the kernel where the kernel would guess: a branch without a permission (aufs picks one
 * by the branch's file system), an empty option, an option given twice, and a branch given twice are refused,
 * because the planner should never emit any of them.
 */

export const MS_RDONLY = 0x1;
export const MS_REMOUNT = 0x20;

export interface AufsBranch {
  path: string;
  perm: string;
}

export interface ParsedAufsData {
  /** branches of `br:` in order (top first) */
  br: AufsBranch[] | undefined;
  /** branches of each `append:` in order */
  appends: AufsBranch[];
  xino: string | undefined;
  flags: string[];
  /** the value of `context="..."` without its quotes */
  label: string | undefined;
}

export class AufsGrammarError extends Error {
  override name = 'AufsGrammarError';
  constructor(
    message: string,
    readonly data: string,
  ) {
    super(`${message} in aufs data ${JSON.stringify(data.length > 200 ? `${data.slice(0, 200)}…` : data)}`);
  }
}

const PERMS = new Set(['rw', 'rw+nolwh', 'ro', 'ro+wh', 'rr', 'rr+wh']);
/** options that take no value */
const FLAGS = new Set([
  'dio',
  'nodio',
  'dirperm1',
  'nodirperm1',
  'noxino',
  'trunc_xino',
  'notrunc_xino',
  'plink',
  'noplink',
  'warn_perm',
  'nowarn_perm',
  'shwh',
  'noshwh',
  'sum',
  'nosum',
  'verbose',
  'noverbose',
  'acl',
  'noacl',
]);
/** options that take a value after `=` (or `:` for the branch options) */
const VALUED = new Set(['xino', 'udba', 'create', 'diropq', 'dirwh', 'rdcache', 'rdblk', 'rdhash', 'rendir']);
const BRANCH_OPTS = new Set(['br', 'dirs', 'append', 'prepend', 'add', 'ins', 'del', 'mod']);
const REMOUNT_ONLY = new Set(['append', 'prepend', 'add', 'ins', 'del', 'mod']);
const LSM_OPTS = new Set(['context', 'fscontext', 'defcontext', 'rootcontext']);

/** Splits mount data at commas that are outside double quotes. */
export function splitOptions(data: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of data) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new AufsGrammarError('unterminated quote', data);
  out.push(cur);
  return out;
}

function parseBranch(spec: string, data: string): AufsBranch {
  const eq = spec.lastIndexOf('=');
  if (eq < 0) throw new AufsGrammarError(`branch ${JSON.stringify(spec)} has no permission`, data);
  const path = spec.slice(0, eq);
  const perm = spec.slice(eq + 1);
  if (!path.startsWith('/'))
    throw new AufsGrammarError(`branch path ${JSON.stringify(path)} is not absolute`, data);
  if (path.includes('=')) throw new AufsGrammarError(`branch path ${JSON.stringify(path)} holds '='`, data);
  if (!PERMS.has(perm)) throw new AufsGrammarError(`unknown branch permission ${JSON.stringify(perm)}`, data);
  return { path, perm };
}

/** Parses one data string as aufs would for a mount (remount false) or a remount (true). */
export function parseAufsData(data: string, opts: { remount: boolean; pageSize?: number }): ParsedAufsData {
  const pageSize = opts.pageSize ?? 4096;
  const bytes = Buffer.byteLength(data);
  if (bytes + 1 > pageSize) {
    throw new AufsGrammarError(`${bytes} bytes + NUL do not fit a ${pageSize}-byte page`, data);
  }
  const parsed: ParsedAufsData = { br: undefined, appends: [], xino: undefined, flags: [], label: undefined };
  const seen = new Set<string>();
  for (const opt of splitOptions(data)) {
    if (opt === '') throw new AufsGrammarError('empty option', data);
    const m = /^([a-z_0-9]+)([:=])?([\s\S]*)$/.exec(opt);
    if (!m) throw new AufsGrammarError(`malformed option ${JSON.stringify(opt)}`, data);
    const name = m[1]!;
    const sep = m[2];
    const value = m[3] ?? '';
    if (BRANCH_OPTS.has(name)) {
      if (REMOUNT_ONLY.has(name) && !opts.remount) {
        throw new AufsGrammarError(`${name} is a remount option`, data);
      }
      if (name !== 'br' && name !== 'dirs' && name !== 'append') {
        throw new AufsGrammarError(`${name} is not used by this driver`, data);
      }
      if (sep === undefined || value === '') throw new AufsGrammarError(`${name} without a branch`, data);
      if (name === 'append') {
        if (value.includes(':')) throw new AufsGrammarError('append takes exactly one branch', data);
        parsed.appends.push(parseBranch(value, data));
      } else {
        if (parsed.br) throw new AufsGrammarError('br given twice', data);
        parsed.br = value.split(':').map((b) => {
          if (b === '') throw new AufsGrammarError('empty branch', data);
          return parseBranch(b, data);
        });
      }
      continue;
    }
    if (seen.has(name)) throw new AufsGrammarError(`option ${name} given twice`, data);
    seen.add(name);
    if (LSM_OPTS.has(name)) {
      if (sep !== '=' || !/^"[^"]*"$/.test(value)) {
        throw new AufsGrammarError(`${name} needs a quoted label`, data);
      }
      if (name === 'context') parsed.label = value.slice(1, -1);
    } else if (FLAGS.has(name)) {
      if (sep !== undefined) throw new AufsGrammarError(`flag ${name} takes no value`, data);
      parsed.flags.push(name);
    } else if (VALUED.has(name)) {
      if (sep !== '=' || value === '') throw new AufsGrammarError(`${name} needs =VALUE`, data);
      if (name === 'xino') {
        if (!value.startsWith('/')) throw new AufsGrammarError('xino path is not absolute', data);
        parsed.xino = value;
      }
    } else {
      throw new AufsGrammarError(`unknown option ${JSON.stringify(name)}`, data);
    }
  }
  if (!opts.remount && !parsed.br) throw new AufsGrammarError('a new aufs mount needs br:', data);
  if (!opts.remount && parsed.br && parsed.br[0]?.perm.startsWith('rw') !== true) {
    // aufs would mount it read-only; the driver always wants its rw branch on top
    throw new AufsGrammarError('the top branch is not rw', data);
  }
  return parsed;
}

export interface MountCallLike {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data?: string;
}

/**
 * The mount table of an aufs kernel, as far as the driver can see it: each mount call is checked by the
 * grammar and applied (new mount, or remount appending branches); umount drops the target. Errors are the
 * ones the kernel would give (EINVAL-like `AufsGrammarError`).
 */
export class AufsKernelModel {
  readonly mounts = new Map<
    string,
    { branches: AufsBranch[]; xino?: string; flags: string[]; label?: string }
  >();
  constructor(readonly pageSize = 4096) {}

  mount(call: MountCallLike): void {
    const data = call.data ?? '';
    if (call.fstype !== 'aufs') throw new AufsGrammarError(`fstype ${call.fstype} is not aufs`, data);
    const remount = (call.flags & MS_REMOUNT) !== 0;
    const parsed = parseAufsData(data, { remount, pageSize: this.pageSize });
    const existing = this.mounts.get(call.target);
    if (!remount) {
      if (existing) throw new AufsGrammarError(`${call.target} is already an aufs mount`, data);
      if (call.source !== 'none') throw new AufsGrammarError(`source ${call.source} is not "none"`, data);
      const branches = [...(parsed.br ?? [])];
      checkUnique(branches, data);
      this.mounts.set(call.target, {
        branches,
        xino: parsed.xino,
        flags: parsed.flags,
        label: parsed.label,
      });
      return;
    }
    if (!existing) throw new AufsGrammarError(`remount of ${call.target}, which is not mounted`, data);
    // SELinux refuses a remount whose context differs from the mount's (omitting it is fine)
    if (parsed.label !== undefined && parsed.label !== existing.label) {
      throw new AufsGrammarError('remount changes the label', data);
    }
    const branches = parsed.br ? [...parsed.br] : [...existing.branches];
    branches.push(...parsed.appends);
    checkUnique(branches, data);
    existing.branches = branches;
  }

  umount(target: string): void {
    if (!this.mounts.delete(target)) throw new Error(`EINVAL: ${target} is not mounted`);
  }

  /** The branch paths of a mounted target, top first. */
  stack(target: string): string[] {
    const m = this.mounts.get(target);
    if (!m) throw new Error(`${target} is not mounted`);
    return m.branches.map((b) => b.path);
  }
}

function checkUnique(branches: AufsBranch[], data: string): void {
  const paths = new Set<string>();
  for (const b of branches) {
    if (paths.has(b.path)) throw new AufsGrammarError(`branch ${b.path} duplicated`, data);
    paths.add(b.path);
  }
}
