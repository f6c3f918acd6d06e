/** What a failure log writes: one line when the cause changes, one when the dependency works again. */
export interface CauseReport<Cause extends string> {
  failing(cause: Cause, error: string, previous: { previousCause?: Cause; previousRepeats?: number }): void;
  worksAgain(cause: Cause, repeats: number, failingMs: number): void;
}

/**
 * Why a dependency (Redis, backend-core) fails, remembered so that its log says so once per change
 * of cause (never once per failure) and once when it works again, with how many failures of that
 * cause were not logged (`repeats`) and for how long it failed. A success costs one comparison.
 * The caller's report writes the lines, so each message stays a literal at its call.
 */
export class CauseLog<Cause extends string> {
  private cause: Cause | null = null;
  private repeats = 0;
  private sinceMs = 0;

  constructor(private readonly report: CauseReport<Cause>) {}

  failed(cause: Cause, error: string): void {
    if (cause === this.cause) {
      this.repeats++;
      return;
    }
    const previous = this.cause === null ? {} : { previousCause: this.cause, previousRepeats: this.repeats };
    if (this.cause === null) this.sinceMs = Date.now();
    this.cause = cause;
    this.repeats = 0;
    this.report.failing(cause, error, previous);
  }

  succeeded(): void {
    if (this.cause === null) return;
    this.report.worksAgain(this.cause, this.repeats, Date.now() - this.sinceMs);
    this.cause = null;
    this.repeats = 0;
  }
}
