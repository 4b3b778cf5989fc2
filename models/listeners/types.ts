// What a listener model is made of and what it shows: its log, its view of the table, its
// counters. Shared by the reader (listener.ts), the programs and conntrackd's sync (sync.ts).
import type { Actor, IntSetView } from '../../sim/index.js';
import type { CtEvent } from '../kernel/events.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import type { ListenerConfig } from './config.js';

/** One line of a listener's log: a message, an ENOBUFS, a resync or the exit. */
export type LogEntry =
  | { readonly t: number; readonly kind: 'msg'; readonly ev: CtEvent }
  | { readonly t: number; readonly kind: 'enobufs' }
  | { readonly t: number; readonly kind: 'resync'; readonly added: number; readonly purged: number }
  | { readonly t: number; readonly kind: 'exit' };

/** One line a program writes to its own log (conntrackd's dlog), at simulated time `t` (ns). */
export interface ProgramNotice {
  readonly t: number;
  readonly level: 'notice' | 'warning';
  readonly text: string;
}

/** An object of the listener's own table view. */
export interface ViewEntry {
  readonly tuple: number;
  readonly id: number;
  readonly serial: number;
}

/** The kernel's live entries, as a resync dump sees them. */
export interface DumpSource {
  liveEntries(): ViewEntry[];
}

export type ListenerMsg =
  | { readonly kind: 'wake' }
  | { readonly kind: 'step' }
  | { readonly kind: 'resync' }
  | { readonly kind: 'resync-done' };

/** Counters a listener keeps while it runs. */
export interface ListenerStats {
  received: { new: number; update: number; destroy: number };
  enobufs: number;
  /** A message of a type already received for the same conntrack lifetime. */
  duplicates: number;
  /** A DESTROY arriving after the NEW of a newer conntrack with the same tuple. */
  outOfOrder: number;
  /** conntrackd: a DESTROY that removed the cache object of another (newer) conntrack. */
  wrongDeletes: number;
  resyncs: number;
  bufferGrowths: number;
}

export interface ListenerModel extends Actor<ListenerMsg> {
  readonly socket: NetlinkSocket;
  readonly log: LogEntry[];
  readonly view: Map<string | number, ViewEntry>;
  readonly stats: ListenerStats;
  readonly cfg: ListenerConfig;
  /** False after `conntrack -E` ≤ 1.4.5 exited on ENOBUFS. */
  readonly running: boolean;
  /** Events handled per readiness (per nfct_catch for conntrackd). */
  readonly perCatch: readonly number[];
  /** Conntrack lifetimes (serials) whose NEW / DESTROY arrived at least once. */
  readonly seenNew: IntSetView;
  readonly seenDestroy: IntSetView;
  /** The program's own log lines (conntrackd: buffer size set, doubled, cannot grow). */
  readonly notices: readonly ProgramNotice[];
  /** Time of the last message or resync that could change the view. */
  readonly lastChange: number;
  /** The cache key of an entry for this listener (tuple+ID or tuple, by version). */
  key(e: { tuple: number; id: number }): string | number;
}
