// The example redelivery design of docs/architecture.md#adding-an-era (E4-backoff): every time
// derived by hand in the comments and asserted exactly.
import test from 'ava';
import { ms, s } from '../../../sim/index.js';
import { kernelRig, udp } from '../../helpers/kernel.js';
import { METRIC } from '../../../models/names.js';

test('E4-backoff retries each parked DESTROY after 10, 20, 40, 80 ms (wheel-rounded) until it gets through', (t) => {
  const r = kernelRig('linux-6.18', (d) => void (d.era = 'E4-backoff'));
  r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < ms(1100);
  r.at(0, udp(10));
  r.at(s(1), { kind: 'flush', portid: 7 });
  // HZ 250 (4 ms a jiffy), the 4.8 wheel runs a level-0 timer one jiffy after its expiry.
  //   1 s      flush: DESTROY refused at jiffy 250; retry after msecs_to_jiffies(10) = 3 → 253 → runs at 254: 1.016 s
  //   1.016 s  refused; 20 ms = 5 jiffies → 259 → 260: 1.040 s
  //   1.040 s  refused; 40 ms = 10 jiffies → 270 → 271: 1.084 s
  //   1.084 s  refused; 80 ms = 20 jiffies → 291 → 292: 1.168 s, after the refusals stop: delivered
  r.sim.run({ until: s(5) });
  t.deepEqual(
    r.sink.log.map((x) => [x.t, x.type, x.ok]),
    [
      [0, 'new', true],
      [s(1), 'destroy', false],
      [ms(1016), 'destroy', false],
      [ms(1040), 'destroy', false],
      [ms(1084), 'destroy', false],
      [ms(1168), 'destroy', true],
    ],
  );
  t.is(r.sim.recorder.total(METRIC.retries), 4);
  t.is(r.sim.recorder.total(METRIC.redelivered), 1);
  t.is(r.k.view.parkedCount(), 0);
  t.is(r.k.view.table.count, 0, 'the entry is freed once its DESTROY is out');
  // The retried DESTROY carries the flusher's portid, stored at the first failure.
  t.is(r.sink.log.at(-1)!.portid, 7);
});

test('E4-backoff caps the delay at nf_conntrack_events_retry_timeout: with 1 s, one retry every 1.024 s', (t) => {
  const r = kernelRig('linux-6.18', (d) => {
    d.era = 'E4-backoff';
    d.retryTimeoutS = 1;
  });
  r.sink.refuse = (ev) => ev.type === 'destroy';
  r.at(0, udp(10));
  r.at(s(1), { kind: 'flush', portid: 7 });
  r.sim.run({ until: s(30) });
  const times = r.sink.log.filter((x) => x.type === 'destroy').map((x) => x.t);
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  // Doubling from 10 ms reaches the 250-jiffy cap at the 8th retry (10·2^5 = 320 ms = 80
  // jiffies < 250 < 640 ms); a 250-jiffy timer sits on wheel level 1 (granularity 8 jiffies),
  // so once the expiry is a multiple of 8 each retry runs 256 jiffies = 1.024 s after the last.
  t.true(
    gaps.every((g, i) => i === 0 || g >= gaps[i - 1]!),
    'gaps never shrink',
  );
  t.deepEqual(gaps.slice(-5), [ms(1024), ms(1024), ms(1024), ms(1024), ms(1024)]);
  t.is(r.k.view.parkedCount(), 1, 'still parked: every retry was refused');
  t.is(r.k.view.table.count, 1, 'a parked entry still counts toward nf_conntrack_max');
});
