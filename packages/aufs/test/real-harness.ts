// The scenarios' harness on a kernel that has aufs (Ubuntu's before 21.04, Debian's before Buster): the real
// driver with the native syscalls, and after each step the mount table (/proc/self/mountinfo), aufs's own
// list of branches (/sys/fs/aufs/si_<id>/br<N>) and the merged tree read file by file through each mount.
// It can never run here; it typechecks with the package, and its tree and mount-table helpers are proven on
// overlayfs in merged-tree.test.ts.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type MountInfo, nativeSyscalls, readMountinfo } from '@ovl/syscall';
import * as assert from 'uvu/assert';
import { AufsDriver, assertAufsSupported, type SupportProbe } from '../src/index.js';
import { tempHome } from './fixtures.js';
import type { Harness, Run } from './harness.js';
import { assertMergedTree, mountAt, mountsBelow, readMergedTree } from './merged-tree.js';

export const NO_AUFS =
  "aufs is not available in this kernel (mainline Linux never had it); these tests run on kernels with aufs, e.g. Ubuntu's before 21.04";

/** Why the real harness cannot run here (after trying `modprobe aufs`), or undefined when it can. */
export async function realAufsSkipReason(probe: SupportProbe = {}): Promise<string | undefined> {
  try {
    await assertAufsSupported(probe);
  } catch {
    return NO_AUFS;
  }
  if (process.getuid?.() !== 0) return 'not root: these tests mount aufs, which needs root; run them as root';
  return undefined;
}

/** The branch limit a kernel config text sets (`CONFIG_AUFS_BRANCH_MAX_<n>=y`); aufs's default is 127. */
export function aufsBranchMax(config: string | undefined): number {
  const m = /^CONFIG_AUFS_BRANCH_MAX_(\d+)=y$/m.exec(config ?? '');
  return m ? Number(m[1]) : 127;
}

function kernelConfig(): string | undefined {
  for (const read of [
    () => readFileSync(`/boot/config-${release()}`, 'utf8'),
    () => gunzipSync(readFileSync('/proc/config.gz')).toString('utf8'),
  ]) {
    try {
      return read();
    } catch {}
  }
  return undefined;
}

/** The `si=<id>` of an aufs mount names its sysfs dir; its `br<N>` files read `<path>=<perm>`, top first. */
export function aufsSysfsBranches(info: MountInfo, sysfs = '/sys/fs/aufs'): string[] | undefined {
  const si = [...info.superOptions, ...info.options].find((o) => o.startsWith('si='))?.slice(3);
  const dir = join(sysfs, `si_${si}`);
  if (!si || !existsSync(dir)) return undefined; // a kernel without CONFIG_SYSFS
  return readdirSync(dir)
    .filter((n) => /^br\d+$/.test(n))
    .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))
    .map((n) =>
      readFileSync(join(dir, n), 'utf8')
        .trim()
        .replace(/=[^=]*$/, ''),
    );
}

export const realHarness: Harness = {
  name: 'real',
  maxBranches: aufsBranchMax(kernelConfig()),
  async start(prefix, opts = {}): Promise<Run> {
    const t = tempHome(`real-${prefix}`, opts.longBytes);
    const home = opts.home ? opts.home(t.root) : t.home;
    let driver: AufsDriver;
    try {
      driver = await AufsDriver.init(home, opts.driver);
    } catch (e) {
      t.cleanup();
      throw e;
    }
    return {
      root: t.root,
      home,
      driver,
      backingFs: nativeSyscalls.statfs(home).fsName,
      dirperm1: driver.dirperm1,
      async check({ mounts, msg }) {
        const table = readMountinfo();
        assert.equal(
          mountsBelow(t.root, table)
            .map((m) => m.mountPoint)
            .sort(),
          mounts.map((m) => realpathSync(m.point)).sort(),
          msg ?? 'the mounts below the home',
        );
        for (const m of mounts) {
          const info = mountAt(m.point, table);
          assert.is(info?.fstype, 'aufs', m.point);
          assert.is(info!.options.includes('ro'), m.readOnly === true, `${m.point} read-only`);
          const branches = aufsSysfsBranches(info!);
          if (branches) assert.equal(branches, m.stack, `the branches of ${m.point}`);
          await assertMergedTree(m.point, m.stack, t.root, msg);
        }
      },
      write(point, _diff, rel, content) {
        mkdirSync(dirname(join(point, rel)), { recursive: true });
        writeFileSync(join(point, rel), content);
      },
      delete(point, _diff, rel) {
        rmSync(join(point, rel), { recursive: true });
      },
      view: async (point) => readMergedTree(point),
      async done() {
        let failure: unknown;
        try {
          await driver.cleanup();
        } catch (e) {
          failure = e;
        }
        const left = mountsBelow(t.root);
        // never delete through a mount that is still there
        if (left.length > 0) {
          throw new Error(`still mounted: ${left.map((m) => m.mountPoint).join(' ')}`, { cause: failure });
        }
        t.cleanup();
        if (failure) throw failure;
      },
    };
  },
};
