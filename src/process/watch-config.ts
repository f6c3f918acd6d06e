import { ConfigError } from './config-error.js';

/** Who may watch whom: `anyone` (every user's presence to every caller) or `contacts`. */
type WatchPolicyName = 'anyone' | 'contacts';

/** The settings of who may watch whom (docs/api.md, "Who may watch whom"). */
export interface WatchSettings {
  /** WATCH_POLICY, default `anyone` (the Go service's behaviour); `contacts`: only the watcher and its contacts. */
  readonly watchPolicy: WatchPolicyName;
  /** CONTACTS_URL, no default (required with WATCH_POLICY=contacts): backend-core's `GET /user/contact`. */
  readonly contactsUrl: string | null;
  /** CONTACTS_TTL, default 60 seconds a watcher's contact set is cached; open streams are re-checked within it. */
  readonly contactsTtlSeconds: number;
  /** CONTACTS_TIMEOUT, default 2 seconds backend-core may take before the request is answered 503. */
  readonly contactsTimeoutSeconds: number;
}

const URL_FORMS = "an http:// or https:// URL of backend-core's contact list (`http://core:10200/user/contact`)";

function policyOf(value: string | undefined): WatchPolicyName {
  const v = value?.trim() || 'anyone';
  if (v !== 'anyone' && v !== 'contacts') throw new ConfigError('WATCH_POLICY', value ?? '', '`anyone` or `contacts`');
  return v;
}

/** CONTACTS_URL: required when the policy asks backend-core, ignored (but still checked) otherwise. */
function contactsUrlOf(value: string | undefined, policy: WatchPolicyName): string | null {
  const v = value?.trim() ?? '';
  if (v === '') {
    if (policy === 'contacts') throw new ConfigError('CONTACTS_URL', v, `${URL_FORMS}: WATCH_POLICY=contacts needs it`);
    return null;
  }
  let protocol = '';
  try {
    protocol = new URL(v).protocol;
  } catch {
    // reported below
  }
  if (!/^https?:$/.test(protocol)) throw new ConfigError('CONTACTS_URL', v, URL_FORMS);
  return v;
}

function seconds(variable: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(variable, value, 'a positive number of seconds');
  return n;
}

export function watchSettings(env: NodeJS.ProcessEnv): WatchSettings {
  const watchPolicy = policyOf(env.WATCH_POLICY);
  return {
    watchPolicy,
    contactsUrl: contactsUrlOf(env.CONTACTS_URL, watchPolicy),
    contactsTtlSeconds: seconds('CONTACTS_TTL', env.CONTACTS_TTL, 60),
    contactsTimeoutSeconds: seconds('CONTACTS_TIMEOUT', env.CONTACTS_TIMEOUT, 2),
  };
}
