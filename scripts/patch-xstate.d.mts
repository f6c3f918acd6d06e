// Types for patch-xstate.mjs, for the TS tests.
/** The names of XState's runtime builds, the files the patch goes into. */
export const RUNTIME_FILE: RegExp;
/** The comment that marks a patched file. */
export const MARKER: string;
/** The lines the patch inserts at the top of XState's `microstep`. */
export const FAST_PATH: string;
