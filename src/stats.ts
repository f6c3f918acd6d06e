/**
 * Counters the service keeps about itself, read by the metrics endpoint and the tests. Plain
 * numbers: incrementing must cost nothing on the delivery path.
 */
export class Stats {
  /** Pings answered, by `<status>` or `<status>:<code>`. */
  readonly pings = new Map<string, number>();
  /** Presence events handed to subscription actors. */
  deliveries = 0;
  /** Presence events dropped as superseded by a newer ping of the same user (congested or replaying). */
  coalesced = 0;
  /** Streams closed because they stayed congested past SLOW_CLIENT_TIMEOUT. */
  slowClientsClosed = 0;
  /** Times the store came back after being unavailable. */
  storeRecoveries = 0;
  /** `GET /subscribe…` refused, by error code (TOO_MANY_STREAMS, TOO_MANY_CONNECTIONS, SHUTTING_DOWN, CLAIM_* for a bad or untrusted claim). */
  readonly streamsRefused = new Map<string, number>();

  countPing(status: number, code?: string): void {
    const key = code ? `${status}:${code}` : String(status);
    this.pings.set(key, (this.pings.get(key) ?? 0) + 1);
  }

  countStreamRefused(code: string): void {
    this.streamsRefused.set(code, (this.streamsRefused.get(code) ?? 0) + 1);
  }
}
