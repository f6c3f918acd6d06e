/**
 * The API's fixed limits (not configurable): the parser enforces them and the error catalogue's
 * messages quote them, so the two cannot drift apart.
 */

/** A user or client id: at most this many UTF-8 bytes. */
export const MAX_ID_BYTES = 256;

/** A ping's status: at most this many characters (code points). */
export const MAX_STATUS_CHARACTERS = 256;

/** A `POST /ping` body: at most this many bytes. */
export const MAX_BODY_BYTES = 4096;
