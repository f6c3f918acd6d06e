import type { OfflineFrames, PingFrames, StreamFormat } from '../../machines/subscription.js';
import type { StoredPing } from '../store/types.js';

/** The JSON payload of the single-user form, `{"time":…,"status":"…"}` (as /lastseen answers too). */
export function pingPayload(ping: StoredPing): { time: number; status: string } {
  return { time: ping.time, status: ping.status };
}

/**
 * One ping's frames, made for every stream that gets it. Each of its four SSE frames
 * (single/multi payload, with or without `id:`) is serialised on first use and then shared:
 * 15,000 streams watching one user write the same bytes, and nothing is allocated per delivery.
 */
export class SharedPingFrames implements PingFrames {
  readonly clientid: string;
  readonly seq: number;
  private readonly frames: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined];

  constructor(
    readonly userid: string,
    readonly ping: StoredPing,
  ) {
    this.clientid = ping.clientid;
    this.seq = ping.seq;
  }

  frame(format: StreamFormat, withId: boolean): Uint8Array {
    const index = (format === 'multi' ? 2 : 0) + (withId ? 1 : 0);
    return (this.frames[index] ??= Buffer.from(this.render(format, withId)));
  }

  private render(format: StreamFormat, withId: boolean): string {
    // JSON.stringify escapes newlines and every control character, so a status can never
    // break out of its `data:` line: one ping is always exactly one event.
    const data =
      format === 'multi'
        ? JSON.stringify({ userid: this.userid, time: this.ping.time, status: this.ping.status })
        : JSON.stringify(pingPayload(this.ping));
    return `${withId ? `id: ${this.seq}\n` : ''}data: ${data}\n\n`;
  }
}

/**
 * One `event: offline` of one user, made for every stream watching it: `{"time"}` with the time of
 * the user's last ping in the view it is for (`multi` adds `"userid"`). A named event with no
 * `id:`, so EventSource's `onmessage` (the Beep app) never sees it and Last-Event-ID stays a ping's.
 */
export class SharedOfflineFrames implements OfflineFrames {
  readonly offline = true as const;
  private single: Uint8Array | undefined;
  private multi: Uint8Array | undefined;

  constructor(
    readonly userid: string,
    readonly seq: number,
    readonly time: number,
  ) {}

  frame(format: StreamFormat): Uint8Array {
    if (format === 'multi') return (this.multi ??= Buffer.from(this.render({ userid: this.userid, time: this.time })));
    return (this.single ??= Buffer.from(this.render({ time: this.time })));
  }

  private render(data: object): string {
    return `event: offline\ndata: ${JSON.stringify(data)}\n\n`;
  }
}
