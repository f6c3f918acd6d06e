import type { Logger } from '../process/logger.js';
import { CauseLog } from '../store/cause-log.js';
import type { ContactsError, ContactsFailureCause } from './contacts-client.js';

/**
 * Logs why backend-core's contact list cannot be read, once per change of cause (never once per
 * failed call), and when it answers again, as the presence store's failure log does for Redis.
 */
export class ContactsFailureLog {
  private readonly causes: CauseLog<ContactsFailureCause>;

  constructor(log: Logger | undefined, contactsUrl: string) {
    this.causes = new CauseLog({
      failing: (cause, error, previous) => log?.warn({ contactsUrl, cause, error, ...previous }, 'contacts backend failing'),
      worksAgain: (cause, repeats, failingMs) => log?.info({ contactsUrl, cause, repeats, failingMs }, 'contacts backend works again'),
    });
  }

  failed(error: ContactsError): void {
    this.causes.failed(error.cause, error.message);
  }

  succeeded(): void {
    this.causes.succeeded();
  }
}
