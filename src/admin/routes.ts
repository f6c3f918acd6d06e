/**
 * Every route of the admin port (ADMIN_LISTEN), all GET: startAdminServer registers exactly these
 * (its handler table is typed by this list), and docs/openapi.yaml describes them beside the public
 * routes, under the `admin` tag and the admin server (test/unit/api-description.test.ts).
 */
export const ADMIN_ROUTES = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/debug/machines',
  '/debug/machines.json',
  '/debug/mermaid.min.js',
] as const;

export type AdminRoute = (typeof ADMIN_ROUTES)[number];
