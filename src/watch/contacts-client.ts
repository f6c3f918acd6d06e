/** Why backend-core's contact list could not be read, in the words an operator acts on. */
export type ContactsFailureCause = 'timeout' | 'refused' | 'status' | 'invalid' | 'other';

/** A failed read of a contact list, with its cause. */
export class ContactsError extends Error {
  constructor(
    readonly cause: ContactsFailureCause,
    message: string,
  ) {
    super(message);
    this.name = 'ContactsError';
  }
}

/**
 * The largest answer read: at ~200 bytes per contact (id, username, bio, …) some 20,000 contacts.
 * A bigger one is refused as `invalid` rather than held in memory.
 */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface ContactsClientOptions {
  /** CONTACTS_URL: backend-core's `GET /user/contact`. */
  readonly url: string;
  /** CONTACTS_TIMEOUT in ms: the whole call, answer body included. */
  readonly timeoutMs: number;
  /** Every call, once it ended: its duration and, when it failed, why (metrics, the failure log). */
  readonly onCall?: (seconds: number, failure: ContactsError | null) => void;
}

function causeOf(error: unknown): ContactsError {
  if (error instanceof ContactsError) return error;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new ContactsError('timeout', 'backend-core did not answer in time');
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return new ContactsError('refused', 'connection refused');
  return new ContactsError('other', typeof code === 'string' ? `${code}: ${message}` : message);
}

/** The ids of a contact list: `[{"id":"…",…},…]`; anything else is `invalid`. */
function idsOf(text: string): Set<string> {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw new ContactsError('invalid', 'the answer is not JSON');
  }
  if (!Array.isArray(list)) throw new ContactsError('invalid', 'the answer is not a JSON array');
  const ids = new Set<string>();
  for (const item of list) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id === 'string' || typeof id === 'number') ids.add(String(id));
    else throw new ContactsError('invalid', 'a contact has no string id');
  }
  return ids;
}

/**
 * Reads a watcher's contacts from backend-core: `GET <CONTACTS_URL>` with the watcher's own
 * X-User-Claim, exactly as heartbeat received it (backend-core answers 400 without one). Never
 * slower than CONTACTS_TIMEOUT: a hanging backend costs a 503, not a hung request. Node's fetch
 * keeps its connections to backend-core alive between calls.
 */
export class ContactsClient {
  constructor(private readonly options: ContactsClientOptions) {}

  async contactsOf(claim: string): Promise<Set<string>> {
    const started = performance.now();
    try {
      const ids = await this.read(claim);
      this.options.onCall?.((performance.now() - started) / 1000, null);
      return ids;
    } catch (error) {
      const failure = causeOf(error);
      this.options.onCall?.((performance.now() - started) / 1000, failure);
      throw failure;
    }
  }

  private async read(claim: string): Promise<Set<string>> {
    const res = await fetch(this.options.url, {
      headers: { 'X-User-Claim': claim, Accept: 'application/json' },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new ContactsError('status', `backend-core answered ${res.status}`);
    }
    if (Number(res.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES) {
      await res.body?.cancel();
      throw new ContactsError('invalid', `the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    const text = await res.text();
    if (text.length > MAX_ANSWER_BYTES) throw new ContactsError('invalid', `the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    return idsOf(text);
  }
}
