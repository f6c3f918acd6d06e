/**
 * The rate limit of the embedded store (PING_RATE, PING_BURST): a token bucket per user+client,
 * the same arithmetic as the save script's (src/store/redis/scripts/save-pings.lua), so both stores
 * refuse the same pings.
 */
export class RateLimiter {
  private readonly clients = new Map<string, { tokens: number; refilledMs: number }>();

  /** `rate`: tokens per second (0: no limit); `burst`: the most tokens a client can hold. */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  /** Takes a token for `key`: 0 when there was one, else the whole seconds until there is. */
  take(key: string, nowMs: number): number {
    if (this.rate <= 0) return 0;
    const held = this.clients.get(key) ?? { tokens: this.burst, refilledMs: nowMs };
    const tokens = Math.min(this.burst, held.tokens + (Math.max(0, nowMs - held.refilledMs) * this.rate) / 1000);
    if (tokens < 1) return Math.ceil((1 - tokens) / this.rate);
    this.clients.set(key, { tokens: tokens - 1, refilledMs: nowMs });
    return 0;
  }

  /** Milliseconds until `key`'s bucket is full again (0: it is, or it was never used). */
  fullInMs(key: string, nowMs: number): number {
    const held = this.clients.get(key);
    if (this.rate <= 0 || held === undefined) return 0;
    const tokens = held.tokens + (Math.max(0, nowMs - held.refilledMs) * this.rate) / 1000;
    return tokens >= this.burst ? 0 : Math.ceil(((this.burst - tokens) * 1000) / this.rate);
  }

  /** Forgets a key's tokens (its client expired). */
  delete(key: string): void {
    this.clients.delete(key);
  }
}
