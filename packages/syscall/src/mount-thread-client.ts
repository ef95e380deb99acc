// The caller's side of mount-thread.ts: one lazily started worker thread, unref'd while idle, that
// runs cwd/chroot/openDirs steps. Replaced when it dies; undefined when threads cannot unshare
// (then runPlan uses a child process).
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MountStep } from '@ovl/mountopts';
import { SyscallError } from './errors.js';
import type { ThreadReply, ThreadRequest } from './mount-thread.js';
import { siblingScript } from './sibling-script.js';

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

let starting: Promise<Worker | undefined> | undefined;
/** why no mount thread can run here, once that is known */
let unavailable: string | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

function failAll(message: string): void {
  for (const p of pending.values())
    p.reject(new SyscallError(5, 'mount', undefined, { what: message, hint: '' }));
  pending.clear();
}

async function startWorker(): Promise<Worker | undefined> {
  // libuv starts its thread pool on first use, from whichever thread asks; make sure that is not
  // the worker, whose private working directory new threads would inherit.
  await access('/');
  const { script } = siblingScript('mount-thread');
  const worker = script.endsWith('.ts')
    ? // From the TypeScript sources (tests): workers do not inherit tsx's loader, so register it first.
      new Worker(
        `import(${JSON.stringify(
          pathToFileURL(
            createRequire(script)
              .resolve('tsx/esm/api')
              .replace(/\.cjs$/, '.mjs'),
          ).href,
        )})` +
          `.then((api) => { api.register(); return import(${JSON.stringify(pathToFileURL(script).href)}); })`,
        { eval: true },
      )
    : new Worker(script);
  const reply = await new Promise<ThreadReply | Error>((resolve) => {
    worker.once('message', (m: ThreadReply) => resolve(m));
    worker.once('error', (e) => resolve(e));
    worker.once('exit', (code) => resolve(new Error(`exited with ${code} before it was ready`)));
  });
  if (reply instanceof Error || !reply.ok) {
    unavailable = reply instanceof Error ? reply.message : reply.message;
    void worker.terminate();
    return undefined;
  }
  worker.on('message', (m: ThreadReply) => {
    if (m.id === 0) return; // a fatal notice; 'exit' follows
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.ok) p.resolve();
    else {
      const e = new SyscallError(m.errno ?? 5, m.syscall ?? 'mount', m.path, { hint: '' });
      e.message = m.message;
      p.reject(e);
    }
  });
  worker.on('exit', () => {
    starting = undefined;
    failAll('the mount thread exited while a step was running');
  });
  worker.on('error', (e) => {
    starting = undefined;
    failAll(`the mount thread failed: ${e.message}`);
  });
  worker.unref();
  return worker;
}

/**
 * Runs one step on the mount thread. Resolves false (without running it) when no such thread can
 * exist here, so the caller can use a child process instead — or, with `required`, rejects saying why.
 */
export async function runOnMountThread(step: MountStep, fds: number[], required = false): Promise<boolean> {
  starting ??= unavailable ? Promise.resolve(undefined) : startWorker();
  const worker = await starting;
  if (!worker) {
    if (!required) return false;
    throw new SyscallError(38, 'unshare', undefined, {
      what: `no mount thread: ${unavailable}`,
      hint: "Use isolation 'process' or 'auto'",
    });
  }
  const id = nextId++;
  const done = new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
  worker.ref();
  if (process.env.OVL_DEBUG_THREAD)
    console.error('main post', (performance.timeOrigin + performance.now()).toFixed(1));
  worker.postMessage({ id, step, fds } satisfies ThreadRequest);
  await done;
  return true;
}

/** Stops the mount thread (tests and benchmarks that want a clean exit or a cold start). */
export async function stopMountThread(): Promise<void> {
  const w = starting && (await starting);
  starting = undefined;
  if (w) await w.terminate();
}
