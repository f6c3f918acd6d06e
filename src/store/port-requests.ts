/** A request to another thread got no answer within its time. */
class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

interface Waiting<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Requests to another thread over a MessagePort (or a Worker), each with an id its answer carries
 * back: the store relay's commands and the worker pool's admin samples. A port delivers in order
 * but an answer may never come (the other thread busy or gone): `timeoutMs` bounds the wait.
 */
export class PortRequests<T> {
  private readonly waiting = new Map<number, Waiting<T>>();
  private nextId = 1;

  /** `timeoutMs`: reject a request unanswered for this long with RequestTimeoutError; none: wait. */
  constructor(private readonly timeoutMs?: number) {}

  /** Sends one request through `post(id)`; settles with its answer, its failure or the timeout. */
  send(post: (id: number) => void): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = this.timeoutMs;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.waiting.delete(id);
              reject(new RequestTimeoutError(timeoutMs));
            }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      post(id);
    });
  }

  /** The answer to request `id` (ignored once it timed out or failed). */
  answer(id: number, value: T): void {
    this.take(id)?.resolve(value);
  }

  fail(id: number, error: Error): void {
    this.take(id)?.reject(error);
  }

  /** Fails every request still waiting (the other end closed). */
  failAll(error: Error): void {
    for (const id of [...this.waiting.keys()]) this.fail(id, error);
  }

  private take(id: number): Waiting<T> | undefined {
    const waiting = this.waiting.get(id);
    if (!waiting) return undefined;
    this.waiting.delete(id);
    clearTimeout(waiting.timer);
    return waiting;
  }
}
