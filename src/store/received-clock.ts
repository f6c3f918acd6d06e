/**
 * When heartbeat received a ping, in Unix milliseconds: what the stores order a user's pings by
 * (a ping received before the one already stored for its user is refused as overtaken). A retry
 * of a ping that already got its 503 (ioredis re-sends a command after a failover or a reconnect)
 * carries the time of the original receipt, so it cannot land on top of a newer ping.
 *
 * The wall clock, so that instances order one user's pings alike (keep them on NTP: a ping is
 * ordered by its instance's clock), but never backwards within this thread: a clock stepped back
 * would otherwise make this instance refuse its own newer pings for as long as the step.
 */
let last = 0;

export function receivedNow(): number {
  const now = Date.now();
  if (now > last) last = now;
  return last;
}
