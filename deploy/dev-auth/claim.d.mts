// Types for claim.mjs (DEVELOPMENT ONLY auth helper), for the TS tests.
export interface Claim {
  userid: string;
  clientid: string;
}
export function claimFromRequest(req?: { authorization?: string | null; forwardedUri?: string | null }): Claim | null;
export function claimHeader(claim: Claim): string;
