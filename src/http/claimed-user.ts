import { isValidId } from '../../machines/ping-request.js';
import { utf8 } from './read-body.js';

/**
 * The user of an X-User-Claim header (latin1 from uWS, UTF-8 JSON), or undefined when there is
 * none or it is not a valid claim: a stream needs no claim, so a bad one only means "nobody".
 */
export function claimedUser(header: string): string | undefined {
  if (header === '') return undefined;
  // eslint-disable-next-line no-control-regex
  const text = /[^\x00-\x7f]/.test(header) ? utf8(Buffer.from(header, 'latin1')) : header;
  if (text === null) return undefined;
  try {
    const claim = JSON.parse(text) as unknown;
    const userid = typeof claim === 'object' && claim !== null && !Array.isArray(claim) && Object.hasOwn(claim, 'userid') ? (claim as { userid: unknown }).userid : undefined;
    return typeof userid === 'string' && isValidId(userid) ? userid : undefined;
  } catch {
    return undefined;
  }
}
