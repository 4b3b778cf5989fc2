// What a listener program adds to the generic reader loop (listener.ts): the socket options it
// sets, how many messages one readiness handles, what it does on ENOBUFS and after each
// message, and how it keys its cache. One module per program: conntrack-e.ts, conntrackd.ts, raw.ts.
import type { Ctx } from '../../sim/index.js';
import type { RcvbufRequest } from '../netlink/socket.js';
import type { ListenerStats, ProgramNotice, ViewEntry } from './types.js';

/** The socket options a program sets when it starts. */
export interface SocketOptions {
  readonly rcvbuf: RcvbufRequest;
  readonly broadcastError: boolean;
  readonly noEnobufs: boolean;
}

/** What a program may do to its reader. */
export interface ReaderHandle {
  readonly view: Map<string | number, ViewEntry>;
  readonly stats: ListenerStats;
  /** The program ends (conntrack -E ≤ 1.4.5 on ENOBUFS): unsubscribe, log the exit. */
  exit(ctx: Ctx): void;
  /** A resync changed the view; the event socket is not read for `pauseNs`. */
  resynced(ctx: Ctx, added: number, purged: number, pauseNs: number): void;
}

export interface ListenerProgram {
  readonly options: SocketOptions;
  /** What the program logged (conntrackd's log file; empty for the others). */
  readonly notices: readonly ProgramNotice[];
  /** Runs once from the reader's init (timers, sync link, counters). */
  init(ctx: Ctx, reader: ReaderHandle): void;
  /** Messages the next readiness may handle (conntrackd: EventIterationLimit + 1). */
  catchBudget(): number;
  /** recv returned ENOBUFS. */
  onEnobufs(ctx: Ctx, reader: ReaderHandle): void;
  /** The program's resync alarm fired. */
  resync(ctx: Ctx, reader: ReaderHandle): void;
  /** An event changed the view: `op` on `key` (conntrackd's sync mode replicates it). */
  replicate(ctx: Ctx, op: 'new' | 'upd' | 'del', key: string | number, entry: ViewEntry): void;
  /** The cache key of an entry (tuple, or tuple+ID for conntrackd ≤ 1.4.6). */
  key(e: { tuple: number; id: number }): string | number;
}

/** Defaults for a program without cache rules, alarms or sync (conntrack -E, raw). */
export abstract class PlainProgram implements ListenerProgram {
  abstract readonly options: SocketOptions;
  readonly notices: readonly ProgramNotice[] = [];
  init(): void {}
  catchBudget(): number {
    return Infinity;
  }
  onEnobufs(_ctx: Ctx, _reader: ReaderHandle): void {}
  resync(): void {}
  replicate(): void {}
  key(e: { tuple: number; id: number }): string | number {
    return e.tuple;
  }
}
