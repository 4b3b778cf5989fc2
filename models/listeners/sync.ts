// conntrackd sync mode (docs/kernel-facts.md#sync, #conntrackd-cache): the primary's cache
// changes are replicated to a backup's external cache; a failover commits that cache into the
// backup's kernel. FT-FW and NOTRACK external caches never expire entries, so a DESTROY lost
// between the kernel and the primary leaves a ghost that the backup commits (netlink#34).
import type { Actor, Ctx, Stream } from '../../sim/index.js';
import type { SyncConfig } from './config.js';
import type { ViewEntry } from './types.js';
import { METRIC } from '../names.js';

/** One replication message. */
export interface SyncMsg {
  readonly kind: 'sync';
  readonly op: 'new' | 'upd' | 'del';
  readonly key: string | number;
  readonly entry: ViewEntry;
}

/** What the failover found. */
export interface FailoverResult {
  readonly at: number;
  /** Committed entries that no longer exist on the primary (their flow is gone). */
  readonly ghosts: number;
  /** Live primary entries that the backup did not have. */
  readonly missing: number;
  readonly committed: number;
}

export interface BackupModel extends Actor<SyncMsg | { readonly kind: 'failover' }> {
  readonly external: Map<string | number, ViewEntry>;
  failover: FailoverResult | undefined;
}

/** The backup conntrackd's external cache; `live()` gives the primary kernel's live serials at failover. */
export function syncBackup(live: () => Iterable<{ serial: number; key: string | number }>): BackupModel {
  const external = new Map<string | number, ViewEntry>();
  const model: BackupModel = {
    external,
    failover: undefined,
    init(ctx: Ctx) {
      ctx.counter(METRIC.syncGhosts);
      ctx.counter(METRIC.syncMissing);
    },
    receive(msg, ctx: Ctx) {
      if (msg.kind === 'failover') {
        const liveSerials = new Set<number>();
        const liveKeys = new Set<string | number>();
        for (const e of live()) {
          liveSerials.add(e.serial);
          liveKeys.add(e.key);
        }
        let ghosts = 0;
        for (const e of external.values()) if (!liveSerials.has(e.serial)) ghosts++;
        let missing = 0;
        for (const k of liveKeys) if (!external.has(k)) missing++;
        model.failover = { at: ctx.now, ghosts, missing, committed: external.size };
        ctx.count(METRIC.syncGhosts, ghosts);
        ctx.count(METRIC.syncMissing, missing);
        return;
      }
      // NEW replaces, UPD creates or updates, DEL removes (kernel-facts#sync).
      if (msg.op === 'del') external.delete(msg.key);
      else external.set(msg.key, msg.entry);
    },
    snapshot: () => ({ external: external.size, failover: model.failover }),
  };
  return model;
}

/** The primary's sending side of the link. */
export class SyncLink {
  private lastArrival = 0;
  constructor(
    private readonly cfg: SyncConfig,
    private readonly backup: string,
    private readonly rng: Stream,
  ) {}

  send(ctx: Ctx, op: SyncMsg['op'], key: string | number, entry: ViewEntry): void {
    const delay = Math.round(this.cfg.linkDelayUs * 1e3);
    const lost = this.cfg.linkLoss > 0 && this.rng.next() < this.cfg.linkLoss;
    if (lost) ctx.count(METRIC.syncLost);
    if (lost && this.cfg.mode === 'notrack') return;
    // FT-FW: a lost message is NACKed and resent; the receiver drops later ones until the gap is
    // filled, so delivery stays in order.
    let arrival = ctx.now + delay + (lost ? Math.round(this.cfg.retransmitMs * 1e6) : 0);
    if (this.cfg.mode === 'ftfw') arrival = Math.max(arrival, this.lastArrival);
    this.lastArrival = arrival;
    ctx.send(this.backup, { kind: 'sync', op, key, entry } satisfies SyncMsg, arrival - ctx.now);
  }
}
