import type { Erasure, StoredPing } from '../types.js';

/**
 * The pub/sub message of a ping: `<seq> <time> ["<clientid>","<status>"]`. The numbers come
 * first because the Lua script that publishes it only knows them there; the strings are
 * JSON-encoded by Node before the script runs, so the script never escapes anything.
 */
export function encodeMessageTail(clientid: string, status: string): string {
  return JSON.stringify([clientid, status]);
}

const DIGITS = /^\d{1,16}$/;

/** Parses a message; null for anything malformed (it came over the network). */
export function decodeMessage(message: string): StoredPing | null {
  const first = message.indexOf(' ');
  const second = message.indexOf(' ', first + 1);
  if (first < 0 || second < 0) return null;
  const seqText = message.slice(0, first);
  const timeText = message.slice(first + 1, second);
  if (!DIGITS.test(seqText) || !DIGITS.test(timeText)) return null;
  const seq = Number(seqText);
  const time = Number(timeText);
  let tail: unknown;
  try {
    tail = JSON.parse(message.slice(second + 1)) as unknown;
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(time) || !Array.isArray(tail)) return null;
  const [clientid, status] = tail as unknown[];
  if (typeof clientid !== 'string' || typeof status !== 'string') return null;
  return { seq, time, clientid, status };
}

/** A stored hash (HGETALL / HMGET fields) as a ping, or null when the user has none. */
export function pingFromFields(time: string | null, status: string | null, clientid: string | null, seq: string | null): StoredPing | null {
  if (time == null || seq == null) return null;
  return { time: Number(time), status: status ?? '', clientid: clientid ?? '', seq: Number(seq) };
}

const ERASED = /^erased (\d{1,16}) (\d{1,16})? (\d{1,16})?$/;

/**
 * The message of an erasure (erase-presence.lua): `erased <seq> <time> <ownTime>`, either time empty
 * when the view held no ping. null for anything else; an instance that predates erasure reads it
 * as a malformed ping and ignores it.
 */
export function decodeErasure(message: string): Erasure | null {
  const match = ERASED.exec(message);
  if (match === null) return null;
  const [, seq, time, ownTime] = match;
  return { seq: Number(seq), time: time === undefined ? null : Number(time), ownTime: ownTime === undefined ? null : Number(ownTime) };
}
