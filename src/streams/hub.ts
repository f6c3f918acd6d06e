import type { Erasure, Store, StoreListener, StoredPing } from '../store/types.js';
import { UserChannels } from './user-channels.js';
import { FanOutTimer, type FanOutRecord } from './fan-out-timer.js';
import { SharedOfflineFrames, SharedPingFrames } from './frames.js';
import { HubRecord, WatchedUser, ownCopy, type SubscriptionActorRef } from './hub-record.js';
import { DeliveryQueue } from './delivery-queue.js';
import { RecordReads } from './record-reads.js';
import { RecordSilences, offlineAfter } from './record-silences.js';
import type { OfflineFrames, PingFrames } from '../../machines/subscription.js';

export type { SubscriptionActorRef } from './hub-record.js';

export interface HubHooks {
  /** The store became usable (true) or not (false). */
  onAvailability?(up: boolean): void;
  /** A ping was handed to `count` local subscription actors. */
  onDelivered?(count: number): void;
  /**
   * A ping from the bus reached its local streams' sockets: seconds since it was stored (by
   * Redis' clock) and since its message arrived. Once per ping, not per stream; not for re-reads.
   */
  onFanOutTimed?: FanOutRecord;
  /** Events handed to subscription actors per event-loop turn at most (DeliveryQueue). Default 2,000. */
  deliveriesPerTurn?: number;
}

/**
 * Keeps one hub record per watched user and view on this instance (HubRecord), the Redis channels
 * they need, and hands every ping to the streams watching it through one delivery queue. Every
 * record is on the user's public channel (visible pings); a record of the user's own view (a
 * stream the user opened itself, from a trusted claim) is also on the user's own channel, the
 * only path an invisible ping takes. A new stream's replay comes from its records' last pings.
 */
export class Hub implements StoreListener {
  private readonly users = new Map<string, WatchedUser>();
  private readonly publicChannels: UserChannels;
  private readonly ownChannels: UserChannels;
  private readonly deliveries: DeliveryQueue;
  private readonly reads: RecordReads;
  private readonly timer: FanOutTimer | null;
  private readonly delivered = (count: number) => this.hooks.onDelivered?.(count);
  /** When records' last pings fall silent (OFFLINE_AFTER); null when it is 0. */
  private readonly silences: RecordSilences | null;

  /** `offlineAfterSeconds`: OFFLINE_AFTER (0: no `offline` after silence). */
  constructor(
    private readonly store: Store,
    private readonly hooks: HubHooks = {},
    offlineAfterSeconds = 0,
  ) {
    this.silences = offlineAfterSeconds > 0 ? new RecordSilences(offlineAfterSeconds, (record, o) => this.queueOffline(record, o)) : null;
    this.publicChannels = new UserChannels(store, false);
    this.ownChannels = new UserChannels(store, true);
    this.deliveries = new DeliveryQueue(hooks.deliveriesPerTurn);
    this.reads = new RecordReads(store, (record, ping) => this.found(record, ping));
    this.timer = hooks.onFanOutTimed ? new FanOutTimer(hooks.onFanOutTimed) : null;
    store.setListener(this);
  }

  /** `users` with the hub's copy of each id already watched here, so streams share one string per user. */
  shareIds(users: readonly string[]): string[] {
    return users.map((userid) => this.users.get(userid)?.userid ?? userid);
  }

  /**
   * Adds the actor of a stream watching `users` (of `clientid` only, if given). `watcher`: the user
   * who opened the stream; among `users` it alone is seen in its own view.
   */
  add(users: readonly string[], actor: SubscriptionActorRef, clientid?: string, watcher?: string): void {
    for (const userid of users) this.recordOf(userid, userid === watcher, clientid).add(actor);
  }

  remove(users: readonly string[], actor: SubscriptionActorRef, clientid?: string, watcher?: string): void {
    for (const userid of users) {
      const user = this.users.get(userid);
      const record = user?.find(userid === watcher, clientid);
      if (user === undefined || record === undefined) continue;
      // A delivery walking this record's actors keeps its place (DeliveryQueue.removed).
      const at = record.remove(actor, this.deliveries.isWalking(record));
      if (at === null) continue;
      if (at >= 0) this.deliveries.removed(record, at);
      if (record.streams === 0) this.drop(user, record);
    }
  }

  /**
   * Sends `actor` its replay (`replay.loaded`: the last ping of each of its records) once every
   * record can serve it. It goes through the delivery queue: every ping queued before it is
   * covered by it (a record's last ping is the newest it queued), every ping after it is newer.
   */
  replay(users: readonly string[], actor: SubscriptionActorRef, clientid?: string, watcher?: string): void {
    const records: HubRecord[] = [];
    const waits: Promise<void>[] = [];
    for (const userid of users) {
      const record = this.users.get(userid)?.find(userid === watcher, clientid);
      if (record === undefined) continue;
      // A client's entry expires after CLIENT_KEY_TTL of silence (Redis expires the key): its
      // replay is read each time rather than served from memory.
      if (record.clientid !== undefined && record.settling === null) record.settling = this.settle(record);
      records.push(record);
      if (record.settling !== null) waits.push(record.settling);
    }
    if (waits.length === 0) this.queueReplay(records, actor);
    else void Promise.all(waits).then(() => this.queueReplay(records, actor));
  }

  /** Users watched by at least one local stream. */
  watchedUsers(): number {
    return this.users.size;
  }

  /** Deliveries (pings and replays) queued and not yet handed to every actor. */
  queuedDeliveries(): number {
    return this.deliveries.size;
  }

  /**
   * A ping from the bus (pub/sub): queued for every record it is new to, and timed once. A visible
   * ping goes to every view of the user; an invisible one only to its own view.
   */
  onPing(userid: string, ping: StoredPing, invisible = false): void {
    const user = this.users.get(userid);
    if (user === undefined) return;
    let frames: SharedPingFrames | null = null;
    let last: HubRecord | null = null;
    let silent: HubRecord[] | undefined;
    for (const record of user.records) {
      if (!record.accepts(ping, invisible)) continue;
      frames ??= new SharedPingFrames(user.userid, ping);
      record.keep(frames);
      // Already silent (a message late by OFFLINE_AFTER): its offline follows the ping at once.
      if (this.silences?.track(record, ping)) (silent ??= []).push(record);
      if (last !== null) this.deliveries.push({ to: last, event: { type: 'presence', ping: frames }, done: this.delivered });
      last = record;
    }
    if (last === null || frames === null) return;
    // The ping's last delivery ends after the others (one FIFO): time the fan-out there.
    const { timer } = this;
    const startedAt = timer?.now() ?? 0;
    const done =
      timer === null
        ? this.delivered
        : (count: number) => {
            this.delivered(count);
            timer.handedOver(ping.seq, startedAt);
          };
    this.deliveries.push({ to: last, event: { type: 'presence', ping: frames }, done });
    if (silent !== undefined)
      for (const record of silent) this.deliveries.push({ to: record, event: { type: 'offline', offline: offlineAfter(frames) } });
  }

  /**
   * The user's presence was erased: each stream watching it gets `offline` (the time of the last ping
   * its view saw). Its records forget that ping (new streams replay nothing of it), not its seq.
   */
  onErased(userid: string, { seq, time, ownTime }: Erasure): void {
    const user = this.users.get(userid);
    if (user === undefined) return;
    const seen = time === null ? null : new SharedOfflineFrames(user.userid, seq, time);
    const ownSeen = ownTime === null ? null : new SharedOfflineFrames(user.userid, seq, ownTime);
    for (const record of user.records) {
      record.last = null;
      record.seq = Math.max(record.seq, seq);
      this.silences?.cancel(record);
      const offline = record.own ? ownSeen : seen;
      if (offline !== null) this.queueOffline(record, offline);
    }
  }

  /**
   * Redis is back and the channels are resubscribed: read the stored ping of every record again
   * and deliver it where it is newer than the record's last (a ping published during the outage).
   */
  onRecovered(): void {
    void Promise.all([this.publicChannels.resubscribe(), this.ownChannels.resubscribe()]).then(() =>
      this.reads.readAll([...this.users.values()].flatMap((user) => user.records)),
    );
  }

  onAvailability(up: boolean): void {
    this.hooks.onAvailability?.(up);
  }

  /** Stops the read retries and the offline wheel (the service is closing). */
  close(): void {
    this.reads.stop();
    this.silences?.stop();
  }

  private recordOf(userid: string, own: boolean, clientid: string | undefined): HubRecord {
    let user = this.users.get(userid);
    if (user === undefined) {
      user = new WatchedUser(ownCopy(userid));
      this.users.set(user.userid, user);
    }
    // Every join: a channel whose subscribe failed is tried again.
    this.publicChannels.add(user.userid);
    let record = user.find(own, clientid);
    if (record === undefined) {
      record = new HubRecord(user, own, clientid);
      user.addRecord(record);
      record.settling = this.settle(record);
    }
    if (own) this.ownChannels.add(user.userid);
    return record;
  }

  /** Waits for the record's channels, then reads its stored ping: it can serve replays after. */
  private async settle(record: HubRecord): Promise<void> {
    const channels = [this.publicChannels.pending(record.userid), record.own ? this.ownChannels.pending(record.userid) : undefined];
    const waits = channels.filter((wait) => wait !== undefined);
    // A channel that failed is subscribed again on recovery, which also reads every record again.
    if (waits.length > 0) await Promise.allSettled(waits);
    await this.reads.read(record);
    record.settling = null;
  }

  /** A read's answer: kept if newer; delivered if streams may already have replayed without it. */
  private found(record: HubRecord, ping: StoredPing | null): void {
    if (ping === null && record.clientid !== undefined) record.last = null; // the client's entry expired
    if (ping === null || !record.accepts(ping, false)) return;
    const frames = new SharedPingFrames(record.userid, ping);
    record.keep(frames);
    const silent = this.silences?.track(record, ping) ?? false;
    // Re-read pings are old: delivered, not timed. Before the record settled, replays carry it.
    if (record.settling !== null) return;
    this.deliveries.push({ to: record, event: { type: 'presence', ping: frames }, done: this.delivered });
    if (silent) this.queueOffline(record, offlineAfter(frames));
  }

  /** A replay: each record's last ping, followed by its `offline` when it is already silent. */
  private queueReplay(records: readonly HubRecord[], actor: SubscriptionActorRef): void {
    const pings: (PingFrames | OfflineFrames)[] = [];
    for (const record of records) {
      if (record.last === null) continue;
      pings.push(record.last);
      if (this.silences?.isSilent(record.last.ping)) pings.push(offlineAfter(record.last));
    }
    this.deliveries.push({ to: actor, event: { type: 'replay.loaded', pings } });
  }

  private queueOffline(record: HubRecord, offline: OfflineFrames): void {
    this.deliveries.push({ to: record, event: { type: 'offline', offline } }); // in order with its pings
  }

  private drop(user: WatchedUser, record: HubRecord): void {
    user.dropRecord(record);
    this.silences?.cancel(record);
    if (record.own && !user.hasOwnView()) this.ownChannels.remove(user.userid);
    if (user.records.length > 0) return;
    this.users.delete(user.userid);
    this.publicChannels.remove(user.userid);
  }
}
