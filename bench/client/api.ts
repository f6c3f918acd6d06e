/**
 * The two HTTP APIs the bench drives: heartbeat's (ours, the baseline, the floors), and nchan's
 * (`GET /sub/<user>` as EventSource, `POST /pub/<user>` with the message as the body).
 */
export type Api = 'heartbeat' | 'nchan';

/**
 * The stream of one user, or of one user's client. nchan has no per-client channel here: a
 * client subscriber watches the user's channel, which in the scenarios carries the same pings
 * (every ping of the bench comes from client c1).
 */
export function subscribePath(api: Api, user: string, clientId?: string): string {
  if (api === 'nchan') return `/sub/${user}`;
  return clientId ? `/subscribe/${user}/client/${clientId}` : `/subscribe/${user}`;
}

/** Whether an answer to a ping (heartbeat: 200) or a publish (nchan: 201 with subscribers, 202 without) is a success. */
export function pingAccepted(api: Api, status: number | undefined): boolean {
  return api === 'nchan' ? status === 201 || status === 202 : status === 200;
}
