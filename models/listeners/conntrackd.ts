// conntrackd's event handler (conntrack-tools src/netlink.c, src/run.c, src/cache*.c;
// docs/kernel-facts.md#conntrackd-buffer to #conntrackd-cache): NetlinkBufferSize and its
// growth on ENOBUFS, NetlinkEventsReliable, EventIterationLimit, the overrun resync (dump, then
// purge) re-armed by every ENOBUFS, the internal cache's key by version, and the sync link.
//
// Simplifications: a resync takes its dump as one snapshot of the kernel's hashed entries and
// costs `resyncUsPerEntry` per dumped entry and per cached object.
import type { Ctx, Timer } from '../../sim/index.js';
import { s as seconds } from '../../sim/index.js';
import type { NetlinkKernelConfig } from '../netlink/config.js';
import { DumpStream, type NetlinkSocket } from '../netlink/socket.js';
import { METRIC } from '../names.js';
import type { ConntrackdConfig } from './config.js';
import type { ListenerProgram, ReaderHandle, SocketOptions } from './program.js';
import { SyncLink } from './sync.js';
import type { DumpSource, ProgramNotice, ViewEntry } from './types.js';

// A dump skb: NLMSG_GOODSIZE-sized (about 16 KiB of head on x86_64 with 4 KiB pages → kmalloc
// 16384 + 576 overhead), holding entries of ~150 bytes. UNVERIFIED sizes; they only pace the dump.
const DUMP_ENTRIES_PER_SKB = 100;
const DUMP_SKB_TRUESIZE = 16384 + 576;

/** The warning of nl_resize_socket_buffer when MaxGrowth stops the doubling (1.4.x, verbatim). */
export const CANNOT_GROW =
  'netlink event socket buffer size cannot be doubled further since it will exceed NetlinkBufferSizeMaxGrowth. We are likely to be losing events, this may lead to unsynchronized replicas. Please, consider increasing netlink socket buffer size via NetlinkBufferSize and NetlinkBufferSizeMaxGrowth clauses in conntrackd.conf';

export class ConntrackdProgram implements ListenerProgram {
  readonly options: SocketOptions;
  /** conntrackd's log file as 1.4.x words it (src/netlink.c), one line per dlog call. */
  readonly notices: ProgramNotice[] = [];
  private maxGrowth = 0;
  private bufferFromConfig = false;
  private growthWarned = false;
  private firstCatch = true;
  private resyncAlarm!: Timer;
  private link: SyncLink | undefined;

  constructor(
    private readonly cfg: ConntrackdConfig,
    private readonly socket: () => NetlinkSocket,
    private readonly nl: NetlinkKernelConfig,
    private readonly dump: DumpSource | undefined,
    private readonly backupId: string | undefined,
  ) {
    const size = cfg.netlinkBufferSize;
    let rcvbuf: SocketOptions['rcvbuf'] = { kind: 'default' };
    if (cfg.version === '0.9.14') {
      if (size > 0) rcvbuf = { kind: 'SO_RCVBUFFORCE', bytes: size };
    } else if (size > 0 && size <= cfg.maxGrowth) rcvbuf = { kind: 'SO_RCVBUFFORCE', bytes: Math.floor(size / 2) }; // halved since 2010
    this.bufferFromConfig = rcvbuf.kind !== 'default';
    // NetlinkEventsReliable sets BROADCAST_ERROR and NO_ENOBUFS together.
    this.options = { rcvbuf, broadcastError: cfg.eventsReliable, noEnobufs: cfg.eventsReliable };
  }

  init(ctx: Ctx): void {
    const cfg = this.cfg;
    // 0.9.14 raised MaxGrowth to at least the buffer it started with.
    this.maxGrowth = cfg.version === '0.9.14' ? Math.max(cfg.maxGrowth, this.socket().rcvbuf) : cfg.maxGrowth;
    if (cfg.sync.mode !== 'none' && this.backupId !== undefined) {
      this.link = new SyncLink(cfg.sync, this.backupId, ctx.stream('link'));
      ctx.counter(METRIC.syncLost);
    }
    this.resyncAlarm = ctx.timer({ kind: 'resync' });
    if (cfg.eventsReliable) this.notice(ctx, 'notice', 'reliable ctnetlink event delivery is ENABLED.');
    if (!this.bufferFromConfig)
      this.notice(
        ctx,
        'notice',
        'NetlinkBufferSize is either not set or is greater than NetlinkBufferSizeMaxGrowth. Using current system buffer size',
      );
    // The size logged is the one read back from the kernel (doubled, at least SOCK_MIN_RCVBUF).
    this.notice(ctx, 'notice', `netlink event socket buffer size has been set to ${this.socket().rcvbuf} bytes`);
  }

  private notice(ctx: Ctx, level: ProgramNotice['level'], text: string): void {
    this.notices.push({ t: ctx.now, level, text });
  }

  /** One nfct_catch handles at most EventIterationLimit + 1 events; the counter starts at 0. */
  catchBudget(): number {
    const budget = this.firstCatch ? 1 : this.cfg.iterationLimit + 1;
    this.firstCatch = false;
    return budget;
  }

  onEnobufs(ctx: Ctx, reader: ReaderHandle): void {
    if (this.grow(ctx)) reader.stats.bufferGrowths++;
    // Every ENOBUFS re-arms the resync alarm.
    if (this.cfg.overrunResyncS > 0 && this.dump)
      ctx.modTimer(this.resyncAlarm, ctx.now + seconds(this.cfg.overrunResyncS));
  }

  /** Buffer growth on ENOBUFS, by version. Returns whether the buffer grew. */
  private grow(ctx: Ctx): boolean {
    const socket = this.socket();
    const cur = socket.rcvbuf;
    if (this.cfg.version === '0.9.14') {
      if (this.growthWarned) return false;
      let req = cur;
      if (cur > this.maxGrowth) {
        req = this.maxGrowth;
        this.growthWarned = true;
      }
      socket.setRcvbuf({ kind: 'SO_RCVBUFFORCE', bytes: req });
    } else {
      if (this.growthWarned) return false;
      if (2 * cur > this.maxGrowth) {
        this.growthWarned = true; // logged once, never tried again
        this.notice(ctx, 'warning', CANNOT_GROW);
        return false;
      }
      socket.setRcvbuf({ kind: 'SO_RCVBUFFORCE', bytes: cur });
      this.notice(ctx, 'notice', `netlink event socket buffer size has been doubled to ${socket.rcvbuf} bytes`);
    }
    return socket.rcvbuf > cur;
  }

  replicate(ctx: Ctx, op: 'new' | 'upd' | 'del', key: string | number, entry: ViewEntry): void {
    this.link?.send(ctx, op, key, entry);
  }

  /** The cache key: tuple and ID up to 1.4.6, tuple only from 1.4.7. */
  key(e: { tuple: number; id: number }): string | number {
    const v = this.cfg.version;
    return v !== '1.4.7' && v !== '1.4.8' ? `${e.tuple}/${e.id}` : e.tuple;
  }

  /** The resync: dump, apply every entry, purge objects the kernel no longer has. */
  resync(ctx: Ctx, reader: ReaderHandle): void {
    if (!this.dump) return;
    const live = this.dump.liveEntries();
    // The dump arrives on the resync socket (rmem_default), flow-controlled, read to the end in
    // this one handler call; the entries are those of the table when it started.
    const stream = new DumpStream(
      live.length,
      this.nl.rmemDefault,
      this.nl.admission,
      DUMP_ENTRIES_PER_SKB,
      DUMP_SKB_TRUESIZE,
    );
    let read = 0;
    for (let n = stream.recv(); n > 0; n = stream.recv()) read += n;
    if (read !== live.length) throw new Error('dump lost entries'); // cannot happen: flow control
    const view = reader.view;
    const liveKeys = new Set<string | number>();
    let added = 0;
    for (const e of live) {
      const k = this.key(e);
      liveKeys.add(k);
      if (!view.has(k)) {
        added++;
        this.link?.send(ctx, 'new', k, e);
      }
      view.set(k, e);
    }
    const cacheSize = view.size;
    let purged = 0;
    for (const k of [...view.keys()]) {
      if (!liveKeys.has(k)) {
        this.link?.send(ctx, 'del', k, view.get(k)!);
        view.delete(k);
        purged++;
      }
    }
    // The event socket is not read until the dump and the purge are done.
    reader.resynced(ctx, added, purged, Math.round((live.length + cacheSize) * this.cfg.resyncUsPerEntry * 1e3));
  }
}
