import test from 'ava';
import {
  assertTime,
  delayToJiffy,
  formatTime,
  jiffiesToNs,
  ms,
  msecsToJiffies,
  ns,
  nsToJiffies,
  s,
  us,
} from '../sim/index.js';

test('unit helpers convert to integer nanoseconds and round once', (t) => {
  t.is(us(1.5), 1500);
  t.is(ms(12), 12_000_000);
  t.is(s(15), 15_000_000_000);
  t.is(ns(0.6), 1);
  t.is(ms(0.0000004), 0);
  t.throws(() => s(NaN), { message: /finite/ });
  t.throws(() => ms(Infinity), { message: /finite/ });
});

test('assertTime rejects negative, fractional and unsafe values with a clear message', (t) => {
  t.is(assertTime(0), 0);
  t.throws(() => assertTime(-1, 'delay'), { message: /delay must be a non-negative integer/ });
  t.throws(() => assertTime(1.5), { message: /got 1\.5/ });
  t.throws(() => assertTime(Number.MAX_SAFE_INTEGER + 1), { message: /up to 9007199254740991/ });
});

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

test('a kernel timer for jiffy k fires at the tick of k, not before', (t) => {
  t.is(delayToJiffy(0, 3, 250), 12_000_000);
  t.is(delayToJiffy(5_000_000, 3, 250), 7_000_000);
  t.is(delayToJiffy(20_000_000, 3, 250), 0);
});

test('formatTime is for humans', (t) => {
  t.is(formatTime(1_500_000_000), '1.5s');
  t.is(formatTime(12_500_000), '12.5ms');
  t.is(formatTime(800), '800ns');
  t.is(formatTime(2_000), '2us');
});
