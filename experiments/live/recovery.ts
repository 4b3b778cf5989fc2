// Crash recovery of the live runner. SIGKILL cannot be trapped, so before the runner changes
// anything on the host it writes what it will undo to a state file under /run/nfct-sim; every
// start first recovers what dead runners left behind: a global sysctl that still holds the value
// a dead runner wrote gets its old value back, the dead runner's namespace is deleted, its helper
// processes are ended by pid. A state file goes away when its runner cleans up normally.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_DIR = process.env.NFCT_SIM_STATE_DIR ?? '/run/nfct-sim';

/** What one live run may leave behind. */
export interface RunState {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a live owner from a reused pid. */
  readonly started: string;
  readonly netns: string;
  /** A second namespace (the sync scenario's backup), deleted with the first. */
  peer?: string;
  readonly sysctls: { path: string; old: string; wrote: string }[];
  /** Helper processes (pid and start time, so a reused pid is never killed). */
  readonly helpers: { pid: number; started: string }[];
}

/** The start time of a process, or undefined when it does not exist. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const statePath = (pid: number): string => join(STATE_DIR, `${pid}.json`);

/** Writes (or rewrites) this process's state, atomically. */
export function saveState(s: RunState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  const tmp = `${statePath(s.pid)}.tmp`;
  writeFileSync(tmp, JSON.stringify(s));
  renameSync(tmp, statePath(s.pid));
}

export function dropState(pid: number): void {
  rmSync(statePath(pid), { force: true });
}

/** This process's state, to be filled in as the run changes the host. */
export function ownState(netns: string): RunState {
  return { pid: process.pid, started: startTime(process.pid) ?? '', netns, sysctls: [], helpers: [] };
}

/** Undoes what runners that are no longer alive left behind; returns what it did, for the log. */
export function recoverStale(ip: string): string[] {
  const done: string[] = [];
  if (!existsSync(STATE_DIR)) return done;
  for (const f of readdirSync(STATE_DIR)) {
    if (!/^\d+\.json$/.test(f)) continue;
    let s: RunState;
    try {
      s = JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8')) as RunState;
    } catch {
      rmSync(join(STATE_DIR, f), { force: true }); // torn while being written: it changed nothing yet
      continue;
    }
    if (startTime(s.pid) === s.started) continue; // its runner is alive
    for (const { pid, started } of s.helpers) {
      if (startTime(pid) !== started) continue; // ended, or the pid now belongs to someone else
      try {
        process.kill(pid, 'SIGKILL');
        done.push(`ended helper ${pid}`);
      } catch {
        /* gone meanwhile */
      }
    }
    for (const netns of s.peer ? [s.netns, s.peer] : [s.netns]) {
      try {
        execFileSync(ip, ['netns', 'del', netns], { stdio: 'ignore' });
        done.push(`deleted namespace ${netns}`);
      } catch {
        /* never created, or already gone */
      }
    }
    for (const g of [...s.sysctls].reverse()) {
      // Only a value the dead runner wrote is put back: someone may have set it since.
      if (existsSync(g.path) && readFileSync(g.path, 'utf8').trim() === g.wrote.trim()) {
        writeFileSync(g.path, g.old);
        done.push(`restored ${g.path} to ${g.old.trim()}`);
      }
    }
    rmSync(join(STATE_DIR, f), { force: true });
  }
  return done;
}
