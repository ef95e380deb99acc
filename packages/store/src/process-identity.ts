import { readFileSync } from 'node:fs';

/** A process named so that a recycled PID is not mistaken for it: PID plus start time in ticks. */
export interface ProcessIdentity {
  pid: number;
  start: number;
}

/** Field 22 of /proc/<pid>/stat (start time since boot); undefined when the process is gone. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 is rest[19].
  const state = rest[0];
  if (state === 'Z' || state === 'X') return undefined; // a zombie holds nothing any more
  const start = Number(rest[19]);
  return Number.isFinite(start) ? start : undefined;
}

let self: ProcessIdentity | undefined;
/** This process's identity. */
export function selfIdentity(): ProcessIdentity {
  self ??= { pid: process.pid, start: processStartTime(process.pid) ?? 0 };
  return self;
}

/** True while the process that recorded `who` still runs (same PID, same start time). */
export function isAlive(who: ProcessIdentity): boolean {
  return processStartTime(who.pid) === who.start;
}
