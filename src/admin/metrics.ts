import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { actorCounts, type AdminSource } from './source.js';

/**
 * The Prometheus registry of `/metrics`: a registry of its own (not prom-client's global one).
 * Every heartbeat_* value is read in `collect()`, when a scrape asks, from the plain counters of
 * Stats and the service's live objects, so nothing here costs anything per ping or delivery.
 * Counters mirrored this way are reset and re-incremented to the current total on each scrape.
 */
export function createMetrics(source: AdminSource): Registry {
  const registry = new Registry();
  const registers = [registry];
  // Node's own: nodejs_eventloop_lag_*, process_resident_memory_bytes, nodejs_heap_*, GC, handles…
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'heartbeat_streams_open',
    help: 'SSE streams open on this instance (one subscription actor each).',
    registers,
    collect() {
      this.set(source.subscriptions.size());
    },
  });
  new Gauge({
    name: 'heartbeat_watched_users',
    help: 'Users watched by at least one stream of this instance.',
    registers,
    collect() {
      this.set(source.hub.watchedUsers());
    },
  });
  new Gauge({
    name: 'heartbeat_actors',
    help: 'Live actors by machine and current state (every state listed, 0 when empty).',
    labelNames: ['machine', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const [machine, counts] of Object.entries(actorCounts(source))) {
        for (const [state, n] of Object.entries(counts)) this.set({ machine, state }, n);
      }
    },
  });
  new Counter({
    name: 'heartbeat_pings_total',
    help: 'POST /ping answered, by HTTP status and, for refusals, the error code (reason).',
    labelNames: ['status', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [key, n] of source.stats.pings) {
        const [status, reason] = key.split(':');
        this.inc(reason ? { status, reason } : { status }, n);
      }
    },
  });
  new Counter({
    name: 'heartbeat_deliveries_total',
    help: 'Presence events handed to subscription actors (one per watching stream per ping).',
    registers,
    collect() {
      this.reset();
      this.inc(source.stats.deliveries);
    },
  });
  new Counter({
    name: 'heartbeat_coalesced_total',
    help: 'Presence events dropped because a newer ping of the same user superseded them while the stream was congested or replaying.',
    registers,
    collect() {
      this.reset();
      this.inc(source.stats.coalesced);
    },
  });
  new Counter({
    name: 'heartbeat_slow_clients_closed_total',
    help: 'Streams closed because they stayed congested longer than SLOW_CLIENT_TIMEOUT.',
    registers,
    collect() {
      this.reset();
      this.inc(source.stats.slowClientsClosed);
    },
  });
  new Gauge({
    name: 'heartbeat_store_up',
    help: 'Whether the presence store (Redis) is usable: 1 connected and answering, 0 not.',
    registers,
    collect() {
      this.set(source.backend.isAvailable() ? 1 : 0);
    },
  });
  new Counter({
    name: 'heartbeat_store_recoveries_total',
    help: 'Times the presence store came back after being unavailable (reconnected and resubscribed).',
    registers,
    collect() {
      this.reset();
      this.inc(source.stats.storeRecoveries);
    },
  });
  new Gauge({
    name: 'heartbeat_pubsub_channels',
    help: 'Pub/sub channels this instance is subscribed to (one per watched user).',
    registers,
    collect() {
      this.set(source.backend.channelCount());
    },
  });
  return registry;
}
