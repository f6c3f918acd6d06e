// The embedded store's rate limit: the save script's token bucket, on a clock given by the test.
import test from 'ava';
import { RateLimiter } from '../../src/store/rate-limit.js';

test('a burst, then one ping per 1/rate seconds; the wait is whole seconds until the next token', (t) => {
  const limiter = new RateLimiter(2, 3);
  t.deepEqual(
    [0, 1, 2, 3].map(() => limiter.take('alice/phone', 1_000)),
    [0, 0, 0, 1],
  );
  t.is(limiter.take('bob/phone', 1_000), 0, 'every user+client has its own tokens');
  t.is(limiter.take('alice/phone', 1_400), 1, '0.8 tokens: not yet');
  t.is(limiter.take('alice/phone', 1_500), 0, 'one token after 0.5 s');
  t.is(limiter.take('alice/phone', 11_500), 0, 'refilled...');
  t.is(limiter.take('alice/phone', 11_500), 0);
  t.is(limiter.take('alice/phone', 11_500), 0);
  t.is(limiter.take('alice/phone', 11_500), 1, '...only up to the burst');
});

test('a slow rate asks for a longer wait; rate 0 never refuses', (t) => {
  const slow = new RateLimiter(0.1, 1);
  t.is(slow.take('k', 0), 0);
  t.is(slow.take('k', 0), 10);
  t.is(slow.take('k', 5_000), 5);
  const off = new RateLimiter(0, 1);
  t.true(Array.from({ length: 100 }, () => off.take('k', 0)).every((wait) => wait === 0));
});
