// `nfct-sim live sync`: a conntrackd sync pair. The primary runs in the runner's namespace, the
// backup in a second one, joined by a veth pair (10.77.0.1 – 10.77.0.2, sync over UDP port
// 3780). An nftables rule in the primary drops a share of its sync datagrams (this kernel has
// no netem). A first batch of flows is created and flushed (its DELs are what a lossy link can
// turn into ghosts), a second batch is created and stays; then the backup commits its external
// cache into its kernel (`conntrackd -c`, the failover) and its table is held against the
// primary's: ghosts (on the backup, gone on the primary) and missing entries. Twin:
// twin-programs.ts.
import type { Row } from '../lib/experiment.js';
import { CONNTRACK, inNamespace, requireLive, sleep, tool, type Namespace } from './host.js';
import { Daemon, dportsOf, generalSection, tableDiff } from './conntrackd.js';

/** A live sync run's parameters; the twin takes the same. */
export interface SyncParams {
  mode: 'notrack' | 'ftfw';
  /** Share of the primary's sync datagrams dropped, per cent. */
  lossPct: number;
  /** Flows created then flushed before the failover. */
  flowsGone: number;
  /** Flows created after the flush, alive at the failover. */
  flowsLive: number;
  fillRateHz: number;
  repeats: number;
}

/** One repeat as recorded. */
export interface SyncRecord {
  /** The backup's table after the commit, against the primary's (flows of the test ports only). */
  ghosts: number;
  missing: number;
  committed: number;
  primaryLive: number;
  /** Sync datagrams the loss rule dropped (its nftables counter; live only). */
  droppedDatagrams?: number;
  /** Sync datagrams the primary sent (the rule's packets seen; live only). */
  sentDatagrams?: number;
}

export const SYNC_PORT = 3780;
const ADDR = { primary: '10.77.0.1', backup: '10.77.0.2' } as const;

/** Ports of the two batches (one new flow per destination port). */
export const GONE_PORT = 20000;
export const LIVE_PORT = 40000;

/** conntrackd.conf of one side of the pair. */
export function syncConf(p: SyncParams, dir: string, self: 'primary' | 'backup'): string {
  const other = self === 'primary' ? 'backup' : 'primary';
  const mode = p.mode === 'ftfw' ? 'FTFW {\n\t}' : 'NOTRACK {\n\t}';
  return `Sync {
	Mode ${mode}
	UDP {
		IPv4_address ${ADDR[self]}
		IPv4_Destination_Address ${ADDR[other]}
		Port ${SYNC_PORT}
		Interface ${self === 'primary' ? 'va' : 'vb'}
		SndSocketBuffer 1249280
		RcvSocketBuffer 1249280
		Checksum on
	}
}
${generalSection(dir, {
  buffer: 8388608,
  maxGrowth: 8388608,
  resync: 'Off',
  reliable: false,
  // The sync link's own datagrams are tracked too; they are not flows to replicate.
  extra: `	Filter From Userspace {\n\t\tAddress Ignore {\n\t\t\tIPv4_address ${ADDR.primary}\n\t\t\tIPv4_address ${ADDR.backup}\n\t\t}\n\t}\n`,
})}`;
}

/** The row of results.csv for one repeat (live and simulated alike). */
export function syncRow(p: SyncParams, repeat: number, r: SyncRecord): Row {
  return {
    mode: p.mode,
    loss_pct: p.lossPct,
    flows_gone: p.flowsGone,
    flows_live: p.flowsLive,
    repeat,
    ghosts: r.ghosts,
    missing: r.missing,
    committed: r.committed,
    primary_live: r.primaryLive,
    dropped_datagrams: r.droppedDatagrams ?? '',
    sent_datagrams: r.sentDatagrams ?? '',
  };
}

/** Test-port flows of a namespace's table. */
async function flowsOf(ns: Namespace): Promise<Set<number>> {
  const all = dportsOf(await ns.exec([tool('conntrack')!, '-L']).catch(() => ''));
  return new Set([...all].filter((x) => x >= GONE_PORT));
}

/** The veth pair, addresses, and the loss rule on the primary's sync datagrams. */
async function link(a: Namespace, b: Namespace, lossPct: number): Promise<void> {
  const ip = tool('ip')!;
  await a.exec([ip, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b.name]);
  await a.exec([ip, 'addr', 'add', `${ADDR.primary}/24`, 'dev', 'va']);
  await b.exec([ip, 'addr', 'add', `${ADDR.backup}/24`, 'dev', 'vb']);
  await a.exec([ip, 'link', 'set', 'va', 'up']);
  await b.exec([ip, 'link', 'set', 'vb', 'up']);
  // Counted before and after the drop: seen = sent, dropped = lost.
  await a.exec(
    [tool('nft')!, '-f', '-'],
    `table inet nfctsimloss {\n chain out { type filter hook output priority 10; policy accept; udp dport ${SYNC_PORT} counter name seen; udp dport ${SYNC_PORT} numgen random mod 100 < ${lossPct} counter name lost drop; }\n counter seen { }\n counter lost { }\n}\n`,
  );
}

/** Packets of a named nftables counter. */
async function counter(ns: Namespace, name: string): Promise<number> {
  const out = await ns.exec([tool('nft')!, 'list', 'counter', 'inet', 'nfctsimloss', name]);
  return Number(/packets (\d+)/.exec(out)?.[1] ?? NaN);
}

/** Runs the measurement `p.repeats` times, each in a fresh pair of namespaces with fresh daemons. */
export async function liveSync(p: SyncParams): Promise<SyncRecord[]> {
  requireLive('sync', [CONNTRACK, ['conntrackd', 'conntrackd']]);
  const out: SyncRecord[] = [];
  for (let r = 0; r < p.repeats; r++) {
    out.push(
      await inNamespace(
        async (a, b) => {
          await link(a, b!, p.lossPct);
          const primary = new Daemon(a, (dir) => syncConf(p, dir, 'primary'));
          const backup = new Daemon(b!, (dir) => syncConf(p, dir, 'backup'));
          try {
            await primary.start();
            await backup.start();
            await a.sendFlows(GONE_PORT, p.flowsGone, p.fillRateHz);
            await sleep(1000);
            await a.exec([tool('conntrack')!, '-F']);
            await sleep(1000);
            await a.sendFlows(LIVE_PORT, p.flowsLive, p.fillRateHz);
            // FT-FW resends what was NACKed; give the link time to settle.
            await sleep(2000);
            await backup.ctl('-c');
            // The commit runs in a child of the daemon: wait until the backup's table stops growing.
            let committed = -1;
            for (let n = (await flowsOf(b!)).size; n !== committed; n = (await flowsOf(b!)).size) {
              committed = n;
              await sleep(500);
            }
            const onPrimary = await flowsOf(a);
            const onBackup = await flowsOf(b!);
            return {
              ...tableDiff(onPrimary, onBackup),
              committed: onBackup.size,
              primaryLive: onPrimary.size,
              droppedDatagrams: await counter(a, 'lost'),
              sentDatagrams: await counter(a, 'seen'),
            };
          } finally {
            await backup.stop();
            await primary.stop();
          }
        },
        {},
        { peer: true },
      ),
    );
  }
  return out;
}
