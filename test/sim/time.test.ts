import test from 'ava';
import { formatTime, ms, ns, s, us } from '../../sim/index.js';
import { assertTime } from '../../sim/time.js';

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

test('formatTime is for humans', (t) => {
  t.is(formatTime(1_500_000_000), '1.5s');
  t.is(formatTime(12_500_000), '12.5ms');
  t.is(formatTime(800), '800ns');
  t.is(formatTime(2_000), '2us');
});
