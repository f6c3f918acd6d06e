const OWN_SUFFIX = ':own';

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

  /** `userKey`: the user's key when the caller has it already (a ping needs both keys). */
  client(userid: string, clientid: string, userKey = this.user(userid)): string {
    return `${userKey}:client:${encodeURIComponent(clientid)}`;
  }

  /** The names of the user's client hashes (save-pings.lua keeps it, erase-presence.lua reads it). */
  clientIndex(userid: string, userKey = this.user(userid)): string {
    return `${userKey}:clients`;
  }

  /** The channel of a user is named like its hash, so it lives in the same slot. */
  channel(userid: string): string {
    return this.user(userid);
  }

  /** The user's own channel: its invisible pings, for its own streams (save-pings.lua names it too). */
  ownChannel(userid: string): string {
    return `${this.user(userid)}${OWN_SUFFIX}`;
  }

  /** The global sequence key (standalone Redis only: in a cluster it would sit in another slot). */
  sequence(): string {
    return `${this.prefix}seq`;
  }

  /** The user a channel belongs to and whether it is the user's own channel; null if not ours. */
  parseChannel(channel: string): { userid: string; own: boolean } | null {
    const own = channel.endsWith(OWN_SUFFIX);
    const userid = this.userOfChannel(own ? channel.slice(0, -OWN_SUFFIX.length) : channel);
    return userid === null ? null : { userid, own };
  }

  /** The user id of a public channel, or null for a channel that is not ours. */
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
