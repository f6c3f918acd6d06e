import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { ContactsClient } from '../watch/contacts-client.js';
import { ContactsPolicy } from '../watch/contacts-policy.js';
import { ContactsFailureLog } from '../watch/failure-log.js';
import type { WatchStats } from '../admin/watch-stats.js';

/** WATCH_POLICY=contacts: one instance's (worker thread's) policy, contact cache and backend-core client; null with `anyone`. */
export function watchPolicyOf(config: Config, log: Logger, stats: WatchStats): ContactsPolicy | null {
  if (config.watchPolicy !== 'contacts' || config.contactsUrl === null) return null;
  const failures = new ContactsFailureLog(log, config.contactsUrl);
  const client = new ContactsClient({
    url: config.contactsUrl,
    timeoutMs: config.contactsTimeoutSeconds * 1000,
    onCall: (seconds, failure) => {
      stats.backendSeconds.observe(seconds);
      if (failure === null) return failures.succeeded();
      stats.failures[failure.cause]++;
      failures.failed(failure);
    },
  });
  return new ContactsPolicy({
    client,
    ttlMs: config.contactsTtlSeconds * 1000,
    onDecision: (decision) => stats.decisions[decision]++,
    onLookup: (hit) => (hit ? stats.cacheHits++ : stats.cacheMisses++),
  });
}
