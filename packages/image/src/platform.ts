import { endianness } from 'node:os';

/** An OCI platform (the `platform` of an index entry, or os/architecture/variant of a config). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** `linux/arm64/v8`, `arm64`, `linux/amd64` → Platform (os defaults to linux). */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().split('/');
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0]! });
  const [os, architecture, variant] = parts;
  return normalizePlatform({ os: os!, architecture: architecture ?? '', variant });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * Canonical names, as containerd's platforms package normalizes them: aarch64 → arm64 (v8 is its default and
 * dropped), x86_64 → amd64 (v1 dropped), armhf → arm/v7, bare arm → arm/v7.
 */
export function normalizePlatform(p: Platform): Platform {
  const os = (p.os || 'linux').toLowerCase() === 'macos' ? 'darwin' : (p.os || 'linux').toLowerCase();
  let arch = (p.architecture ?? '').toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  return variant ? { os, architecture: arch, variant } : { os, architecture: arch };
}

/** This machine's platform in OCI terms (Node's process.arch names differ from Go's GOARCH). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: endianness() === 'LE' ? 'ppc64le' : 'ppc64',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
    mips64el: 'mips64le',
    mipsel: 'mipsle',
  };
  const architecture = arch[process.arch] ?? process.arch;
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  const variant = architecture === 'arm' && armVersion ? `v${armVersion}` : undefined;
  return normalizePlatform({ os: 'linux', architecture, variant });
}

/**
 * The platforms a machine of `wanted` runs, best first — containerd's `platforms.Only`: amd64 also runs 386,
 * arm/vN also runs arm/v(N-1)…v5, arm64/v8.x also runs arm64/v8.(x-1)… and 32-bit arm/v8 and below.
 */
export function compatiblePlatforms(wanted: Platform): Platform[] {
  const p = normalizePlatform(wanted);
  const out: Platform[] = [p];
  const n = Number.parseInt((p.variant ?? '').replace(/^v/, ''), 10);
  if (p.architecture === 'amd64') {
    for (let v = n - 1; v >= 1 && !Number.isNaN(n); v--)
      out.push(normalizePlatform({ ...p, variant: `v${v}` }));
    out.push({ os: p.os, architecture: '386' });
  } else if (p.architecture === 'arm') {
    for (let v = n - 1; v >= 5; v--) out.push({ ...p, variant: `v${v}` });
  } else if (p.architecture === 'arm64') {
    const variant = p.variant ?? 'v8';
    const m = /^v(8|9)(?:\.(\d))?$/.exec(variant);
    if (m) {
      out.length = 0;
      const major = Number(m[1]);
      const minor = Number(m[2] ?? 0);
      // v9.x is a superset of v8.(x+5).
      const ladder: Array<[number, number]> =
        major === 9
          ? [
              [9, minor],
              [8, Math.min(minor + 5, 9)],
            ]
          : [[8, minor]];
      for (const [maj, top] of ladder) {
        for (let k = top; k >= 0; k--)
          out.push(normalizePlatform({ ...p, variant: k ? `v${maj}.${k}` : `v${maj}` }));
      }
    }
    for (const q of compatiblePlatforms({ os: p.os, architecture: 'arm', variant: 'v8' })) out.push(q);
  }
  return out;
}

export function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && (x.variant ?? '') === (y.variant ?? '');
}

/** Rank of `candidate` for a machine of `wanted`: 0 is best, -1 means it cannot run there. */
export function platformRank(wanted: Platform, candidate: Platform): number {
  return compatiblePlatforms(wanted).findIndex((p) => samePlatform(p, candidate));
}
