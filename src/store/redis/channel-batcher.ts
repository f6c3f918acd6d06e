import { TurnBatch } from './turn-batch.js';

export type ChannelOp = 'subscribe' | 'unsubscribe';

interface ChannelCall {
  readonly op: ChannelOp;
  readonly channel: string;
}

/**
 * Coalesces the SUBSCRIBE and UNSUBSCRIBE calls of one event-loop turn (a TurnBatch) into one
 * command per run of the same kind, sent in call order. A burst of new streams (or of closing
 * ones) then costs a few commands instead of one command, one promise chain and one socket write
 * per channel. Each caller still gets its own promise, settled as the command that carried its
 * channel settled: a failed command fails only its own callers.
 */
export class ChannelBatcher {
  /** No cap: a burst's channels go out in as few commands as their order allows. */
  private readonly calls = new TurnBatch<ChannelCall, PromiseSettledResult<unknown>>((calls) => this.sendRuns(calls), Infinity);

  /** `send` issues one command for all `channels` (ioredis settles it once every reply came). */
  constructor(private readonly send: (op: ChannelOp, channels: string[]) => Promise<unknown>) {}

  subscribe(channel: string): Promise<void> {
    return this.enqueue('subscribe', channel);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.enqueue('unsubscribe', channel);
  }

  private async enqueue(op: ChannelOp, channel: string): Promise<void> {
    const settled = await this.calls.add({ op, channel });
    if (settled.status === 'rejected') throw settled.reason;
  }

  /** One command per run of calls of the same kind; each call gets its command's outcome. */
  private sendRuns(calls: readonly ChannelCall[]): Promise<PromiseSettledResult<unknown>[]> {
    const outcomes: Promise<unknown>[] = [];
    for (let start = 0; start < calls.length;) {
      let end = start + 1;
      while (end < calls.length && calls[end].op === calls[start].op) end++;
      const run = calls.slice(start, end);
      let sending: Promise<unknown>;
      try {
        sending = this.send(
          run[0].op,
          run.map((c) => c.channel),
        );
      } catch (error) {
        sending = Promise.reject(error);
      }
      for (let i = start; i < end; i++) outcomes.push(sending);
      start = end;
    }
    return Promise.allSettled(outcomes);
  }
}
