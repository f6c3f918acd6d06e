import type { Logger } from '../process/logger.js';
import type { ContactsError, ContactsFailureCause } from './contacts-client.js';

/**
 * Logs why backend-core's contact list cannot be read, once per change of cause (never once per
 * failed call), and when it answers again, with how many failures of that cause were not logged,
 * as the presence store's failure log does for Redis.
 */
export class ContactsFailureLog {
  private cause: ContactsFailureCause | null = null;
  private repeats = 0;
  private sinceMs = 0;

  constructor(
    private readonly log: Logger | undefined,
    private readonly url: string,
  ) {}

  failed(error: ContactsError): void {
    if (error.cause === this.cause) {
      this.repeats++;
      return;
    }
    const previous = this.cause === null ? {} : { previousCause: this.cause, previousRepeats: this.repeats };
    if (this.cause === null) this.sinceMs = Date.now();
    this.cause = error.cause;
    this.repeats = 0;
    this.log?.warn({ contactsUrl: this.url, cause: error.cause, error: error.message, ...previous }, 'contacts backend failing');
  }

  succeeded(): void {
    if (this.cause === null) return;
    this.log?.info(
      { contactsUrl: this.url, cause: this.cause, repeats: this.repeats, failingMs: Date.now() - this.sinceMs },
      'contacts backend works again',
    );
    this.cause = null;
    this.repeats = 0;
  }
}
