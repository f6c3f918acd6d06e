/**
 * Every route of the public port and its methods (uWS names DELETE `del`). createPublicApp
 * registers exactly these (its handler table is typed by this one), each also with OPTIONS and a
 * 405 for other methods; docs/openapi.yaml describes exactly these (test/unit/api-description.test.ts).
 */
export const PUBLIC_ROUTES = {
  '/ping': ['post', 'del'],
  '/subscribe': ['get'],
  '/subscribe/:userid': ['get'],
  '/subscribe/:userid/client/:clientid': ['get'],
  '/lastseen': ['get'],
  '/lastseen/:userid': ['get'],
} as const;

export type PublicRoute = keyof typeof PUBLIC_ROUTES;
export type Method = 'get' | 'post' | 'del';
