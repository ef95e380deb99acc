// The driver scenarios are written once against a Harness: how to make a driver, how a process in the
// container writes and deletes, what it sees, and what to check after each step. The recorded harness
// (here) checks the exact mount(2)/umount2(2) calls through the aufs grammar and its model of the mount
// table; the real harness (real-harness.ts) checks /proc/self/mountinfo and the merged tree read through
// each mount point.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RecordedCall } from '@ovl/syscall';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AufsDriver, AufsDriverOptions } from '../src/index.js';
import { AufsKernelModel } from './aufs-grammar.js';
import { aufsWhiteout, recordedDriver, tempHome } from './fixtures.js';
import { flattenedTree } from './merged-tree.js';

/** `['mount', source, target, fstype, flags, data]` or `['umount2', target, flags]` */
export type KernelCall = unknown[];

export interface MountExpectation {
  point: string;
  /** the branch dirs, top (rw) first */
  stack: string[];
  readOnly?: boolean;
}

export interface Expect {
  /**
   * The mount(2)/umount2(2) calls made since the previous check (since init for the first), exactly, or a
   * function asserting on them. Only the recorded harness sees calls; the real one has the mounts below.
   */
  calls?: KernelCall[] | ((calls: KernelCall[]) => void);
  /** every aufs mount below the home now, each with its stack; both harnesses check the whole set */
  mounts: MountExpectation[];
  msg?: string;
}

export interface StartOptions {
  /** a long path below the temp root, as tempHome's `longBytes` */
  longBytes?: number;
  /** the home below the temp root (default `<root>/…/aufs`, as tempHome) */
  home?: (root: string) => string;
  driver?: AufsDriverOptions;
  /** the backing file system the recorder reports (the real one reports what it is) */
  fsName?: string;
}

export interface Run {
  readonly root: string;
  readonly home: string;
  readonly driver: AufsDriver;
  /** what status() should call the backing file system, and whether dirperm1 should be on */
  readonly backingFs: string;
  readonly dirperm1: boolean;
  check(expect: Expect): Promise<void>;
  /** writes `rel` as a process in the container does: through `point`, landing in the rw branch `diff` */
  write(point: string, diff: string, rel: string, content: string): void;
  /** deletes `rel` as a process in the container does (a whiteout in `diff` if a lower branch has it) */
  delete(point: string, diff: string, rel: string): void;
  /** the tree a process sees through `point`, as treeLines */
  view(point: string, stack: string[]): Promise<string[]>;
  /** unmounts what the kernel still holds, then removes the temp root */
  done(): Promise<void>;
}

export interface Harness {
  readonly name: 'recorded' | 'real';
  /** the most branches one mount may hold (Infinity for the recorder) */
  readonly maxBranches: number;
  start(prefix: string, opts?: StartOptions): Promise<Run>;
}

/** mount and umount2 calls only (runPlan and statfs records are bookkeeping) */
export const kernelCalls = (calls: RecordedCall[]): KernelCall[] =>
  calls.filter((c) => c.name === 'mount' || c.name === 'umount2').map((c) => [c.name, ...c.args]);

/** Feeds mount/umount2 calls to the aufs model: every data string must parse. */
export function feedModel(k: AufsKernelModel, calls: RecordedCall[]): AufsKernelModel {
  for (const c of calls) {
    if (c.name === 'mount') {
      const [source, target, fstype, flags, data] = c.args as [string, string, string, number, string];
      k.mount({ source, target, fstype, flags, data });
    } else if (c.name === 'umount2') k.umount(c.args[0] as string);
  }
  return k;
}

/** Replays recorded calls through a fresh aufs model; returns the model. */
export const replay = (calls: RecordedCall[]) => feedModel(new AufsKernelModel(), calls);

export const recordedHarness: Harness = {
  name: 'recorded',
  maxBranches: Number.POSITIVE_INFINITY,
  async start(prefix, opts = {}) {
    const t = tempHome(prefix, opts.longBytes);
    const home = opts.home ? opts.home(t.root) : t.home;
    const fsName = opts.fsName ?? 'ext4';
    let rec: Awaited<ReturnType<typeof recordedDriver>>;
    try {
      rec = await recordedDriver(home, opts.driver, { fsName });
    } catch (e) {
      t.cleanup();
      throw e;
    }
    const model = new AufsKernelModel();
    let seen = 0;
    return {
      root: t.root,
      home,
      driver: rec.driver,
      backingFs: fsName,
      // what the test configured (recordedDriver's default is off), not what the driver says it is
      dirperm1: opts.driver?.dirperm1 === true,
      async check({ calls, mounts, msg }) {
        const fresh = rec.calls.slice(seen);
        seen = rec.calls.length;
        feedModel(model, fresh);
        const k = kernelCalls(fresh);
        if (typeof calls === 'function') calls(k);
        else if (calls) assert.equal(k, calls, msg);
        assert.equal([...rec.mounts.keys()].sort(), mounts.map((m) => m.point).sort(), msg);
        for (const m of mounts) assert.equal(model.stack(m.point), m.stack, msg);
      },
      write(_point, diff, rel, content) {
        mkdirSync(dirname(join(diff, rel)), { recursive: true });
        writeFileSync(join(diff, rel), content);
      },
      delete(point, diff, rel) {
        // what aufs does to its rw branch: the entry goes, and a whiteout hides the lower branches' one
        // (the scenarios delete only what a lower branch has; a base layer has no branch below)
        rmSync(join(diff, rel), { recursive: true, force: true });
        if (point !== diff) aufsWhiteout(diff, rel);
      },
      view: (_point, stack) => flattenedTree(stack, t.root),
      async done() {
        t.cleanup();
      },
    };
  },
};

/** What the merged-view tests add after a stack's view was checked (the overlayfs comparison). */
export type AfterView = (v: {
  driver: AufsDriver;
  ids: string[];
  lines: string[];
  root: string;
}) => Promise<void>;

export interface Scenario {
  name: string;
  /** the branches of its deepest mount: a harness whose kernel holds fewer skips it, saying so */
  branches?: number;
  run(h: Harness, after?: AfterView): Promise<void>;
}

/**
 * Registers each scenario on `s` with harness `h`; with a `skip` reason (or a stack deeper than the kernel
 * holds) each is still registered, as a skip, and the reason printed.
 */
export function register(
  s: Test,
  h: Harness,
  scenarios: Scenario[],
  opts: { skip?: string; after?: AfterView } = {},
): void {
  for (const sc of scenarios) {
    const why =
      opts.skip ??
      (sc.branches !== undefined && sc.branches > h.maxBranches
        ? `this aufs holds at most ${h.maxBranches} branches (CONFIG_AUFS_BRANCH_MAX_${h.maxBranches})`
        : undefined);
    if (why) {
      console.log(`${h.name}: skipped "${sc.name}": ${why}`);
      s.skip(sc.name, () => {});
    } else s(sc.name, () => sc.run(h, opts.after));
  }
}
