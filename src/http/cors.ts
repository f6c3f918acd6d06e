/** Response headers, as the answer helpers take them. */
export type Headers = Readonly<Record<string, string>>;

/**
 * The request headers a browser may send cross-origin. Never X-User-Claim: only the proxy may
 * set it, after forward-auth; a page that could send it would be asking heartbeat to trust it.
 */
const ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID';
/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600';

/**
 * CORS_ORIGINS: which origins get CORS headers. An allowed origin is named back exactly (never a
 * literal `*`, which browsers refuse together with credentials: EventSource `withCredentials`
 * sends cookies), with `Vary: Origin` so no cache hands one origin's answer to another. A
 * disallowed or missing Origin gets no CORS headers at all, and the browser refuses the answer.
 */
export class CorsPolicy {
  private readonly allowed: ReadonlySet<string> | '*';
  /** The headers per allowed origin, made once: a ping's answer allocates nothing for them. */
  private readonly cache = new Map<string, Headers>();

  /** `origins`: the CORS_ORIGINS list, or `*` for every origin; empty disables CORS. */
  constructor(origins: readonly string[] | '*') {
    this.allowed = origins === '*' ? '*' : new Set(origins);
  }

  /** Whether any origin can be allowed (false: routes skip reading Origin altogether). */
  get enabled(): boolean {
    return this.allowed === '*' || this.allowed.size > 0;
  }

  /** The CORS headers of an actual request from `origin` (the Origin header, '' when absent). */
  headersFor(origin: string): Headers | undefined {
    if (origin === '' || origin === 'null' || (this.allowed !== '*' && !this.allowed.has(origin))) return undefined;
    let headers = this.cache.get(origin);
    if (headers === undefined) {
      // `*` admits any origin: bound the cache so a stream of made-up origins cannot grow it.
      if (this.cache.size >= 1024) this.cache.clear();
      headers = Object.freeze({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' });
      this.cache.set(origin, headers);
    }
    return headers;
  }

  /** The headers of a preflight (OPTIONS) for a route serving `methods`, or undefined. */
  preflightFor(origin: string, methods: string): Headers | undefined {
    const headers = this.headersFor(origin);
    if (headers === undefined) return undefined;
    return {
      ...headers,
      'Access-Control-Allow-Methods': methods,
      'Access-Control-Allow-Headers': ALLOWED_HEADERS,
      'Access-Control-Max-Age': PREFLIGHT_MAX_AGE,
    };
  }
}
