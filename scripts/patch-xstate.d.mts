// Types for patch-xstate.mjs, for the TS tests.
/** The comment that marks a patched file. */
export const MARKER: string;
/** The lines the patch inserts at the top of XState's `microstep`. */
export const FAST_PATH: string;
