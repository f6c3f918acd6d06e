/**
 * Key and channel names. The user id is percent-encoded so that no id can forge another
 * user's key (an id containing `}` or `:client:` would otherwise collide), and it sits in a
 * `{hash tag}` so that a user's keys and channel share one Redis Cluster slot.
 */
export class KeySpace {
  constructor(readonly prefix: string) {}

  user(userid: string): string {
    return `${this.prefix}{${encodeURIComponent(userid)}}`;
  }

  client(userid: string, clientid: string): string {
    return `${this.user(userid)}:client:${encodeURIComponent(clientid)}`;
  }

  /** The channel of a user is named like its hash, so it lives in the same slot. */
  channel(userid: string): string {
    return this.user(userid);
  }

  /** The global sequence key (standalone Redis only: in a cluster it would sit in another slot). */
  sequence(): string {
    return `${this.prefix}seq`;
  }

  /** The user id a channel belongs to, or null for a channel that is not ours. */
  userOfChannel(channel: string): string | null {
    const start = this.prefix.length + 1;
    if (!channel.startsWith(this.prefix) || channel[start - 1] !== '{' || !channel.endsWith('}')) return null;
    try {
      return decodeURIComponent(channel.slice(start, -1));
    } catch {
      return null;
    }
  }
}
