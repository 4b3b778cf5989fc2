// conntrackd sync mode and failover (netlink#34), and the listener-versus-kernel analysis.
import test from 'ava';
import { ms, s, us } from '../../../sim/index.js';
import { analyseListener } from '../../../models/listeners/analysis.js';
import { conntrackE, conntrackd, reader, world } from '../../helpers/world.js';

const udp = (tuple: number) => ({ kind: 'packet' as const, tuple, proto: 'udp' as const });
const sync = (mode: 'ftfw' | 'notrack', linkLoss = 0) => ({ mode, linkDelayUs: 500, linkLoss, retransmitMs: 1000 });

test('netlink#34 a DESTROY lost before the primary leaves a ghost in the external cache, committed on failover', (t) => {
  // Unreliable primary (no NetlinkEventsReliable) with a small buffer; resync off.
  const w = world('linux-6.18', [
    conntrackd({
      netlinkBufferSize: 4096,
      maxGrowth: 4096,
      overrunResyncS: 0,
      sync: sync('ftfw'),
      reader: reader(200),
    }),
  ]);
  for (let i = 0; i < 10; i++) w.at(ms(i), udp(1000 + 2 * i));
  w.at(s(1), { kind: 'flush', portid: 0 }); // 10 DESTROYs at once into a 3-event socket: most are lost
  w.sim.send('sync/backup-0', { kind: 'failover' }, s(100));
  w.sim.run({ until: s(101) });
  const b = w.backups.get('sync/backup-0')!;
  const primary = w.listeners[0]!;
  t.true(primary.stats.enobufs >= 1);
  t.is(b.failover!.ghosts, primary.view.size); // every entry the primary still believes in
  t.true(b.failover!.ghosts >= 5);
  t.is(b.failover!.missing, 0);
  // External caches have no expiry: the ghosts are still there 99 s after the flows died.
  t.is(b.external.size, b.failover!.ghosts);
});

test('sync: NOTRACK loses replication messages on a lossy link (missing and ghost entries); FT-FW does not', (t) => {
  const run = (mode: 'ftfw' | 'notrack') => {
    const w = world('linux-6.18', [
      conntrackd({
        eventsReliable: true,
        netlinkBufferSize: 1 << 20,
        maxGrowth: 1 << 20,
        sync: sync(mode, 0.2),
        reader: reader(20),
      }),
    ]);
    for (let i = 0; i < 200; i++) w.at(ms(i), udp(1000 + 2 * i)); // 200 flows, all expire at ~30 s
    for (let i = 0; i < 100; i++) w.at(s(40) + ms(i), udp(9000 + 2 * i)); // 100 live flows
    w.sim.send('sync/backup-0', { kind: 'failover' }, s(50));
    w.sim.run({ until: s(51) });
    return w.backups.get('sync/backup-0')!.failover!;
  };
  const ft = run('ftfw');
  const nt = run('notrack');
  t.deepEqual([ft.ghosts, ft.missing], [0, 0]);
  t.true(nt.missing > 5 && nt.missing < 40, `missing ${nt.missing}`); // ~20 % of 100 NEWs lost
  t.true(nt.ghosts > 10, `ghosts ${nt.ghosts}`); // ~20 % of the 200 DELs lost
});

test('analysis: reliable, duplicate-prone and lossy listeners measured against the kernel', (t) => {
  const w = world('linux-6.18', [
    conntrackd({ eventsReliable: true, netlinkBufferSize: 8192, maxGrowth: 8192, reader: reader(500) }),
    conntrackE({ reader: reader(500) }), // rmem_default: room for 166 events
  ]);
  for (let i = 0; i < 100; i++) w.at(us(100 * i), udp(1000 + 2 * i));
  w.at(s(1), { kind: 'flush', portid: 0 });
  for (let i = 0; i < 20; i++) w.at(s(2) + us(100 * i), udp(5000 + 2 * i)); // these stay
  w.sim.run({ until: s(20) });
  const live = w.kernel.view.liveEntries();
  t.is(live.length, 20);
  const [rel, dup] = w.listeners.map((l) => analyseListener(l, w.kernel.view.truth, live));
  // Reliable: NEWs of quiet flows can be lost (never re-sent), DESTROYs never; nothing stale.
  t.is(rel!.destroyMissed, 0);
  t.is(rel!.stale, 0);
  t.is(rel!.duplicates, 0);
  t.true(rel!.newMissed > 0);
  t.true(rel!.absent > 0 && rel!.absent <= rel!.newMissed); // live flows whose NEW was lost
  t.is(rel!.consistentAt, -1);
  // conntrack -E with room: every retry of a DESTROY the reliable listener refused is a duplicate.
  t.true(dup!.duplicates > 0);
  t.is(dup!.received.destroy, 100 + dup!.duplicates);
  t.is(dup!.destroyMissed, 0);
  // Alone (no reliable listener forcing retries), an unreliable small buffer without resync
  // loses DESTROYs for good: they stay in its view.
  const u = world('linux-6.18', [
    conntrackd({ netlinkBufferSize: 8192, maxGrowth: 8192, overrunResyncS: 0, reader: reader(500) }),
  ]);
  for (let i = 0; i < 100; i++) u.at(us(100 * i), udp(1000 + 2 * i));
  u.at(s(1), { kind: 'flush', portid: 0 });
  u.sim.run({ until: s(20) });
  const lossy = analyseListener(u.listeners[0]!, u.kernel.view.truth, u.kernel.view.liveEntries());
  t.true(lossy!.destroyMissed > 0);
  t.true(lossy!.stale > 0);
  t.is(lossy!.consistentAt, -1);
});
