import type { OfflineFrames } from '../../machines/subscription.js';
import type { StoredPing } from '../store/types.js';
import { SharedOfflineFrames, type SharedPingFrames } from './frames.js';
import type { HubRecord } from './hub-record.js';
import { OfflineWheel } from './offline-wheel.js';

/**
 * OFFLINE_AFTER for the hub's records: when a record's last ping falls silent (its time, Redis'
 * clock in whole seconds, plus OFFLINE_AFTER, against this instance's clock: the Beep app's own
 * rule, so instances agree as their clocks do), `onSilent` is called once for it. A public record
 * follows visible pings only, so an invisible user goes offline for everyone else; an own record
 * follows every ping; a client's record that client's pings. Nothing is kept per stream, and
 * nothing but the record's slot per watched user and view.
 */
export class RecordSilences {
  private readonly afterMs: number;
  private readonly wheel: OfflineWheel<HubRecord>;

  constructor(afterSeconds: number, onSilent: (record: HubRecord, offline: OfflineFrames) => void) {
    this.afterMs = afterSeconds * 1000;
    this.wheel = new OfflineWheel((record) => {
      if (record.last !== null && record.streams > 0) onSilent(record, offlineAfter(record.last));
    });
  }

  /** The record kept `ping` as its last: its silence counts from it. Whether it is silent already. */
  track(record: HubRecord, ping: StoredPing): boolean {
    const silent = this.isSilent(ping);
    if (silent) this.wheel.cancel(record);
    else this.wheel.schedule(record, ping.time * 1000 + this.afterMs);
    return silent;
  }

  /** Nothing to announce for the record any more (erased, or its last stream left). */
  cancel(record: HubRecord): void {
    this.wheel.cancel(record);
  }

  isSilent(ping: StoredPing): boolean {
    return ping.time * 1000 + this.afterMs <= Date.now();
  }

  stop(): void {
    this.wheel.stop();
  }
}

/** The `offline` that follows `last`: its seq (so it is written after it) and its time. */
export function offlineAfter(last: SharedPingFrames): OfflineFrames {
  return new SharedOfflineFrames(last.userid, last.seq, last.ping.time);
}
