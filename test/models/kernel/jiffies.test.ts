// Kernel time: jiffies, msecs_to_jiffies and the 4.8+ timer wheel's rounding (models/kernel/jiffies.ts).
import test from 'ava';
import { jiffiesToNs, msecsToJiffies, nsToJiffies, wheelBucketExpiry } from '../../../models/kernel/jiffies.js';

test('msecs_to_jiffies rounds up as the kernel does', (t) => {
  t.is(msecsToJiffies(10, 250), 3);
  t.is(msecsToJiffies(10, 100), 1);
  t.is(msecsToJiffies(10, 1000), 10);
  t.is(msecsToJiffies(10, 300), 3);
  t.is(msecsToJiffies(0, 250), 0);
  t.is(msecsToJiffies(1, 250), 1);
  t.is(msecsToJiffies(1000, 250), 250);
});

test('jiffies and nanoseconds convert exactly, including HZ=300', (t) => {
  t.is(jiffiesToNs(250, 250), 1e9);
  t.is(jiffiesToNs(3, 250), 12_000_000);
  t.is(jiffiesToNs(1, 300), 3_333_334);
  t.is(jiffiesToNs(300, 300), 1e9);
  t.is(nsToJiffies(1e9 - 1, 250), 249);
  t.is(nsToJiffies(1e9, 250), 250);
  t.is(nsToJiffies(jiffiesToNs(7, 300), 300), 7);
  // 100 days of jiffies at HZ=300 stays exact
  const j = 300 * 86400 * 100 + 299;
  t.is(nsToJiffies(jiffiesToNs(j, 300), 300), j);
});

test('the 4.8+ wheel runs a level-0 timer one jiffy late and rounds longer ones to their level (boundaries)', (t) => {
  // Level 0 holds delays up to 62 jiffies, granularity 1: the bucket expiry is expires + 1.
  t.is(wheelBucketExpiry(1000 + 3, 1000), 1004);
  t.is(wheelBucketExpiry(1000 + 62, 1000), 1063);
  // 63 jiffies is the first delay of level 1 (granularity 8): rounded up to the next multiple of 8.
  t.is(wheelBucketExpiry(1000 + 63, 1000), 1064);
  t.is(wheelBucketExpiry(1064, 1000), 1072); // an exact multiple still moves to the next one
  // Level 2 starts at 63 * 8 = 504 jiffies (granularity 64).
  t.is(wheelBucketExpiry(1000 + 503, 1000), 1504);
  t.is(wheelBucketExpiry(1000 + 504, 1000), 1536);
});
