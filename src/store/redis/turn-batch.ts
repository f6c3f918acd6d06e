/**
 * Collects the calls made during one turn of the event loop and runs them as one batch, at the
 * end of the turn (setImmediate: after the I/O callbacks of the turn, as ioredis' auto-pipeline
 * does). Each call gets its own result, in order; a batch that fails fails every call in it.
 * Why: a `POST /ping` pays for one Redis command and one script call per batch instead of one
 * per ping (BENCHMARKS.md, `ping`), and a burst of streams for a few SUBSCRIBE commands instead of
 * one per channel (ChannelBatcher).
 */
export class TurnBatch<Item, Result> {
  private items: Item[] = [];
  private waiting: { resolve: (result: Result) => void; reject: (error: unknown) => void }[] = [];

  /**
   * `run` gets the items of one batch and answers one result per item, in the same order.
   * `maxItems` (default 128) bounds a batch: a full batch runs at once, so one script call never
   * holds Redis for long.
   */
  constructor(
    private readonly run: (items: readonly Item[]) => Promise<readonly Result[]>,
    private readonly maxItems = 128,
  ) {}

  add(item: Item): Promise<Result> {
    if (this.items.length === 0) setImmediate(() => this.flush());
    this.items.push(item);
    const result = new Promise<Result>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (this.items.length >= this.maxItems) this.flush();
    return result;
  }

  private flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    const waiting = this.waiting;
    this.items = [];
    this.waiting = [];
    const fail = (error: unknown) => {
      for (const w of waiting) w.reject(error);
    };
    let running: Promise<readonly Result[]>;
    try {
      running = this.run(items);
    } catch (error) {
      return fail(error);
    }
    running.then((results) => {
      if (results.length !== waiting.length) return fail(new Error(`a batch of ${waiting.length} got ${results.length} results`));
      for (let i = 0; i < waiting.length; i++) waiting[i].resolve(results[i]);
    }, fail);
  }
}
