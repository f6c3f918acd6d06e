export type ChannelOp = 'subscribe' | 'unsubscribe';

interface Queued {
  readonly op: ChannelOp;
  readonly channel: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Coalesces the SUBSCRIBE and UNSUBSCRIBE calls of one event-loop turn into one command per run
 * of the same kind, sent in call order. A burst of new streams (or of closing ones) then costs a
 * few commands instead of one command, one promise chain and one socket write per channel.
 * Each caller still gets its own promise, settled with the command that carried its channel.
 */
export class ChannelBatcher {
  private queue: Queued[] = [];
  private scheduled = false;

  /** `send` issues one command for all `channels` (ioredis settles it once every reply came). */
  constructor(private readonly send: (op: ChannelOp, channels: string[]) => Promise<unknown>) {}

  subscribe(channel: string): Promise<void> {
    return this.enqueue('subscribe', channel);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.enqueue('unsubscribe', channel);
  }

  private enqueue(op: ChannelOp, channel: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, channel, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    for (let start = 0; start < queue.length;) {
      let end = start + 1;
      while (end < queue.length && queue[end].op === queue[start].op) end++;
      const run = queue.slice(start, end);
      let sending: Promise<unknown>;
      try {
        sending = this.send(
          queue[start].op,
          run.map((q) => q.channel),
        );
      } catch (error) {
        sending = Promise.reject(error);
      }
      sending.then(
        () => run.forEach((q) => q.resolve()),
        (error: unknown) => run.forEach((q) => q.reject(error)),
      );
      start = end;
    }
  }
}
