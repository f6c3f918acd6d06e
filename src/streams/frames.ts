import type { PingFrames, StreamFormat } from '../../machines/subscription.js';
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
