/**
 * Workers that load koffi (through @ovl/syscall), and a process that exits while one of them loads.
 *
 * koffi aborts the whole process (a "napi_throw" fatal error, exit code 134) when a worker is torn down
 * while it loads or binds its calls: measured here, a process that exited 28–40 ms after starting such a
 * worker aborted about one time in eight. So each such worker sets a cell of a SharedArrayBuffer once its
 * calls are bound (1, or -1 when loading failed), and a process exit waits for every cell still at 0 — at
 * most HOLD_MS in all. (Workers that are told to stop are not terminated either: they leave by themselves,
 * after their start-up, see content-reader.ts.)
 */
const HOLD_MS = 2000;

interface Guard {
  cell: Int32Array;
  index: number;
  /** True once the worker is known to be gone (its 'exit' or 'error' event): nothing to wait for. */
  gone: () => boolean;
}

let guards: Guard[] = [];
let hooked = false;

/** Registers a worker that says in `cell[index]` when it has loaded; a process exit waits for it. */
export function guardWorkerLoad(cell: Int32Array, index: number, gone: () => boolean): void {
  guards = guards.filter((g) => !settled(g));
  guards.push({ cell, index, gone });
  if (!hooked) {
    hooked = true;
    process.once('exit', holdExit);
  }
}

/** Registered workers still loading. */
export function workersLoading(): number {
  return guards.filter((g) => !settled(g)).length;
}

function settled(g: Guard): boolean {
  return g.gone() || Atomics.load(g.cell, g.index) !== 0;
}

function holdExit(): void {
  const until = Date.now() + HOLD_MS;
  for (const g of guards) {
    while (!settled(g)) {
      const left = until - Date.now();
      if (left <= 0) return;
      Atomics.wait(g.cell, g.index, 0, left);
    }
  }
}
