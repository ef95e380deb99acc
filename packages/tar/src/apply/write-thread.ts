/**
 * The program of an apply writer thread: it creates the files the main thread hands it in the ring
 * (write-ring.ts), with openat on cached directory descriptors, write, fchown/fchmod when asked,
 * futimensNs and close — straight libc calls through @ovl/syscall.
 *
 * Self-contained on purpose: the worker runs this function's source text (`WRITER_SOURCE`), with its
 * modules passed in as arguments, so that it needs no file of its own next to the bundle (a bundler
 * rewrites `require` in function bodies; it does not touch a string).
 */
import type { MessagePort } from 'node:worker_threads';
import { portableWorkerSource } from '../worker-source.js';
import type { RingLayout, WriterFailure } from './write-ring.js';

export interface WriterData {
  ctrl: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  layout: RingLayout;
  /** Failures go here (read synchronously by the main thread with receiveMessageOnPort). */
  port: MessagePort;
}

interface Sys {
  openat(dirfd: number, name: string, flags: number, mode?: number): number;
  writeAll(fd: number, buf: Uint8Array, offset?: number, length?: number, position?: number): void;
  futimensNs(fd: number, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void;
  fchown(fd: number, uid: number, gid: number): void;
  fchmod(fd: number, mode: number): void;
  close(fd: number): void;
  copyFileRange(inFd: number, inOff: number, outFd: number, outOff: number, length: number): number;
  /** Missing from an @ovl/syscall older than this package: then read and write. */
  sendFileAt?(inFd: number, inOff: number, outFd: number, outOff: number, length: number): number;
  AT_FDCWD: number;
  O_CLOEXEC: number;
}

interface Fs {
  readSync(fd: number, buf: Uint8Array, off: number, len: number, pos: number): number;
  constants: Record<string, number>;
}

function writerThread(parentPort: MessagePort, data: WriterData, sys: Sys, fs: Fs): void {
  const { CTRL, SLOT, RECORD, FLAG, HEADER_BYTES } = data.layout;
  const ctrl = new Int32Array(data.ctrl);
  const slots = new Float64Array(data.ring);
  const bytes = Buffer.from(data.ring);
  const c = fs.constants;
  const FILE_FLAGS = c.O_WRONLY! | c.O_CREAT! | c.O_EXCL! | c.O_NOFOLLOW! | sys.O_CLOEXEC;
  const DIR_FLAGS = c.O_RDONLY! | c.O_DIRECTORY! | sys.O_CLOEXEC;
  const NO_KERNEL_COPY = new Set(['ENOSYS', 'EXDEV', 'EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'EBADF']);
  const NO_SENDFILE = new Set(['ENOSYS', 'EINVAL', 'ESPIPE', 'EOPNOTSUPP', 'ENOTSUP']);
  let copyBuffer: Buffer | undefined;
  /** Layer descriptors copy_file_range refused (EXDEV…): not tried again this session. */
  let noKernelCopy = new Set<number>();
  /** Layer descriptors sendfile refused as well: read and write from then on. */
  let noSendfile = new Set<number>();

  parentPort.on('message', (m: string) => {
    if (m === 'session') session();
  });
  primeBindings();

  /**
   * Binds every libc call this thread makes, each called once on a descriptor that cannot exist (they
   * fail with EBADF), then says so in CTRL.LOADED. @ovl/syscall binds lazily, and koffi's loading and
   * binding abort the process when the worker is torn down in the middle (a process that exits just as
   * its thread starts): the main thread holds a process exit until this cell is set.
   */
  function primeBindings(): void {
    const calls = [
      () => sys.openat(-1, 'x', 0),
      () => sys.writeAll(-1, new Uint8Array(1)),
      () => sys.writeAll(-1, new Uint8Array(1), 0, 1, 0),
      () => sys.futimensNs(-1, 0, 0, 0, 0),
      () => sys.fchown(-1, 0, 0),
      () => sys.fchmod(-1, 0),
      () => sys.copyFileRange(-1, 0, -1, 0, 1),
      () => sys.sendFileAt?.(-1, 0, -1, 0, 1),
      () => sys.close(-1),
    ];
    for (const call of calls) {
      try {
        call();
      } catch {}
    }
    Atomics.store(ctrl, CTRL.LOADED, 1);
    Atomics.notify(ctrl, CTRL.LOADED);
  }

  function session(): void {
    const dirs = new Map<number, number>();
    const dirPaths = new Map<number, string>();
    // The file being written (across DATA records) and what finishing it takes.
    let fd = -1;
    let written = 0;
    let tail = 0;
    let completed = 0;
    let beat = 0;
    noKernelCopy = new Set<number>();
    noSendfile = new Set<number>();
    Atomics.store(ctrl, CTRL.IDLE, 0);
    Atomics.store(ctrl, CTRL.READY, 1);
    try {
      for (;;) {
        let submitted = Atomics.load(ctrl, CTRL.SUBMITTED);
        if (submitted === completed) {
          if (Atomics.load(ctrl, CTRL.END) || Atomics.load(ctrl, CTRL.ABORT)) break;
          // A short spin first: the main thread usually has the next record ready within microseconds.
          for (let i = 0; i < 200 && submitted === completed; i++)
            submitted = Atomics.load(ctrl, CTRL.SUBMITTED);
          if (submitted === completed) {
            Atomics.store(ctrl, CTRL.SLEEPING, 1);
            Atomics.wait(ctrl, CTRL.SUBMITTED, completed, 20);
            Atomics.store(ctrl, CTRL.SLEEPING, 0);
            Atomics.store(ctrl, CTRL.BEAT, ++beat);
          }
          continue;
        }
        if (Atomics.load(ctrl, CTRL.ABORT)) break;
        const at = tail >> 3;
        const len = slots[at + SLOT.LEN]!;
        if (len === 0) {
          tail = 0; // wrap marker
        } else {
          const failure = record(at, tail);
          if (failure) {
            data.port.postMessage(failure);
            Atomics.store(ctrl, CTRL.FAILED, 1);
            if (Atomics.load(ctrl, CTRL.MAIN_WAITING)) Atomics.notify(ctrl, CTRL.COMPLETED);
            break;
          }
          tail += len;
        }
        Atomics.store(ctrl, CTRL.TAIL, tail);
        Atomics.store(ctrl, CTRL.COMPLETED, ++completed);
        if ((completed & 63) === 0) Atomics.store(ctrl, CTRL.BEAT, ++beat);
        if (Atomics.load(ctrl, CTRL.MAIN_WAITING)) Atomics.notify(ctrl, CTRL.COMPLETED);
      }
    } finally {
      if (fd >= 0) tryClose(fd);
      for (const d of dirs.values()) tryClose(d);
      Atomics.store(ctrl, CTRL.READY, 0);
      Atomics.store(ctrl, CTRL.IDLE, 1);
      Atomics.notify(ctrl, CTRL.COMPLETED);
    }

    function tryClose(d: number): void {
      try {
        sys.close(d);
      } catch {}
    }

    /** Does one record; returns what failed, if anything. */
    function record(at: number, offset: number): WriterFailure | undefined {
      const type = slots[at + SLOT.TYPE]!;
      const dirId = slots[at + SLOT.DIR_ID]!;
      const nameLen = slots[at + SLOT.NAME_LEN]!;
      const nameAt = offset + HEADER_BYTES;
      if (type === RECORD.FORGET) {
        for (const d of dirs.values()) tryClose(d);
        dirs.clear();
        dirPaths.clear();
        return undefined;
      }
      if (type === RECORD.DIR) {
        const path = bytes.toString('utf8', nameAt, nameAt + nameLen);
        dirPaths.set(dirId, path);
        const old = dirs.get(dirId);
        if (old !== undefined) tryClose(old);
        dirs.delete(dirId);
        return undefined;
      }
      const entryLen = slots[at + SLOT.ENTRY_LEN]!;
      const dataLen = slots[at + SLOT.DATA_LEN]!;
      const flags = slots[at + SLOT.FLAGS]!;
      const dataAt = nameAt + nameLen + entryLen;
      let what = 'create the file';
      try {
        if (type === RECORD.FILE) {
          let dfd = dirs.get(dirId);
          if (dfd === undefined) {
            what = 'open the dir of';
            dfd = sys.openat(sys.AT_FDCWD, dirPaths.get(dirId)!, DIR_FLAGS);
            dirs.set(dirId, dfd);
            what = 'create the file';
          }
          fd = sys.openat(
            dfd,
            bytes.toString('utf8', nameAt, nameAt + nameLen),
            FILE_FLAGS,
            slots[at + SLOT.OPEN_MODE]!,
          );
          written = 0;
        }
        if (dataLen > 0) {
          what = 'write the file';
          sys.writeAll(fd, bytes, dataAt, dataLen);
          written += dataLen;
        }
        if (flags & FLAG.LAST) {
          const rangeLen = slots[at + SLOT.RANGE_LEN]!;
          if (rangeLen > 0) {
            what = 'copy the content of';
            const got = copyRange(slots[at + SLOT.RANGE_FD]!, slots[at + SLOT.RANGE_OFF]!, rangeLen);
            if (got < rangeLen) {
              return fail(at, offset, what, undefined, 'the layer file ends inside this entry');
            }
          }
          what = 'set the owner, mode or times of';
          if (flags & FLAG.CHOWN) sys.fchown(fd, slots[at + SLOT.UID]!, slots[at + SLOT.GID]!);
          if (flags & FLAG.CHMOD) sys.fchmod(fd, slots[at + SLOT.MODE]!);
          sys.futimensNs(
            fd,
            slots[at + SLOT.ATIME]!,
            slots[at + SLOT.ATIME_NS]!,
            slots[at + SLOT.MTIME]!,
            slots[at + SLOT.MTIME_NS]!,
          );
          what = 'close';
          const f = fd;
          fd = -1;
          sys.close(f);
        }
        return undefined;
      } catch (err) {
        const e = err as { code?: string; message?: string };
        return fail(at, offset, what, e.code, e.message ?? String(err));
      }
    }

    /** Copies `length` bytes of the layer file at `from` to the open file after what was written. */
    function copyRange(inFd: number, from: number, length: number): number {
      // copy_file_range, else (EXDEV: ext4 onto tmpfs) sendfile, both kernel copies; each way that
      // refuses a layer descriptor is not tried again for it this session.
      const kernel = [
        { copy: sys.copyFileRange, unsupported: NO_KERNEL_COPY, refused: noKernelCopy },
        { copy: sys.sendFileAt, unsupported: NO_SENDFILE, refused: noSendfile },
      ];
      for (const way of kernel) {
        if (typeof way.copy !== 'function' || way.refused.has(inFd)) continue;
        let done = 0;
        try {
          while (done < length) {
            const n = way.copy(inFd, from + done, fd, written + done, length - done);
            if (n === 0) return done;
            done += n;
          }
          return done;
        } catch (err) {
          if (done > 0 || !way.unsupported.has((err as { code?: string }).code ?? '')) throw err;
          way.refused.add(inFd);
        }
      }
      copyBuffer ??= Buffer.allocUnsafe(1 << 20);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(inFd, copyBuffer, 0, Math.min(copyBuffer.length, length - done), from + done);
        if (n === 0) return done;
        sys.writeAll(fd, copyBuffer, 0, n, written + done);
        done += n;
      }
      return done;
    }

    function fail(at: number, offset: number, what: string, code: string | undefined, message: string) {
      const nameAt = offset + HEADER_BYTES;
      const nameLen = slots[at + SLOT.NAME_LEN]!;
      const entryLen = slots[at + SLOT.ENTRY_LEN]!;
      const dir = dirPaths.get(slots[at + SLOT.DIR_ID]!) ?? '';
      const name = bytes.toString('utf8', nameAt, nameAt + nameLen);
      return {
        what,
        code,
        message,
        entry: bytes.toString('utf8', nameAt + nameLen, nameAt + nameLen + entryLen),
        path: what === 'open the dir of' ? dir : `${dir}/${name}`,
      } satisfies WriterFailure;
    }
  }
}

/**
 * The worker's source text: `writerThread` with its arguments. `syscallModule` is the resolved path of
 * @ovl/syscall's CommonJS build, so that the worker loads the copy the caller has.
 */
export function writerSource(syscallModule: string): string {
  return portableWorkerSource(
    // tsx (tests) compiles with keepNames, which wraps nested functions in a `__name` helper of the
    // module's scope; the worker has no such scope.
    `var __name = (f) => f; const wt = require('node:worker_threads'); let sys;` +
      // A worker that cannot load its calls says so (LOADED = -1), so that a process exit does not wait.
      `try { sys = require(${JSON.stringify(syscallModule)}); } catch (e) {` +
      ` const c = new Int32Array(wt.workerData.ctrl); Atomics.store(c, wt.workerData.layout.CTRL.LOADED, -1);` +
      ` Atomics.notify(c, wt.workerData.layout.CTRL.LOADED); throw e; }` +
      `(${writerThread.toString()})(wt.parentPort, wt.workerData, sys, require('node:fs'));`,
    syscallModule,
  );
}
