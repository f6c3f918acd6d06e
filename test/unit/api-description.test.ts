import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate } from '@readme/openapi-parser';
import { Parser } from '@asyncapi/parser';
import { parse } from 'yaml';
import { PUBLIC_ROUTES } from '../../src/http/route-table.js';
import { ADMIN_ROUTES } from '../../src/admin/routes.js';
import { Errors } from '../../src/http/errors.js';

/**
 * docs/openapi.yaml and docs/asyncapi.yaml describe the API machines read: each is valid for its
 * maintained parser, the OpenAPI file has exactly the routes the apps register (public and admin,
 * from the tables their registration is typed by) and every catalogue code.
 */
const OPENAPI = fileURLToPath(new URL('../../docs/openapi.yaml', import.meta.url));
const ASYNCAPI = fileURLToPath(new URL('../../docs/asyncapi.yaml', import.meta.url));

interface OpenApi {
  paths: Record<string, Record<string, unknown> & { servers?: { url: string }[] }>;
  servers: { url: string }[];
  components: { schemas: { ErrorCode: { enum: string[] } } };
}
const openapi = parse(readFileSync(OPENAPI, 'utf8')) as OpenApi;
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** `/lastseen/:userid` as OpenAPI writes it: `/lastseen/{userid}`. */
const asOpenApiPath = (pattern: string) => pattern.replace(/:(\w+)/g, '{$1}');

/** Every `METHOD path` the file describes on one port: the public one (no servers of its own) or the admin one. */
function described(port: 'public' | 'admin'): string[] {
  return Object.entries(openapi.paths)
    .filter(([, item]) => (item.servers?.[0]?.url.endsWith(':9090') ?? false) === (port === 'admin'))
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => HTTP_METHODS.has(k))
        .map((m) => `${m.toUpperCase()} ${path}`),
    )
    .sort();
}

test('docs/openapi.yaml is valid OpenAPI 3.1 for @readme/openapi-parser, without warnings', async (t) => {
  const result = await validate(OPENAPI);
  t.true(result.valid, JSON.stringify(result));
  t.deepEqual(result.warnings, []);
  t.is(openapi.servers[0].url, 'http://localhost:8080');
});

test('docs/openapi.yaml describes exactly the routes and methods the public app registers', (t) => {
  const registered = Object.entries(PUBLIC_ROUTES)
    .flatMap(([pattern, methods]) => methods.map((m) => `${m === 'del' ? 'DELETE' : m.toUpperCase()} ${asOpenApiPath(pattern)}`))
    .sort();
  t.deepEqual(described('public'), registered);
});

test('docs/openapi.yaml describes exactly the routes the admin app registers, on the admin server', (t) => {
  t.deepEqual(described('admin'), ADMIN_ROUTES.map((route) => `GET ${route}`).sort());
});

test("docs/openapi.yaml's error codes are exactly the catalogue's, and every one is answered somewhere", (t) => {
  const text = readFileSync(OPENAPI, 'utf8');
  t.deepEqual([...openapi.components.schemas.ErrorCode.enum].sort(), Object.keys(Errors).sort());
  // Beyond the enum: each code is named where it is answered (a response's description or example).
  for (const code of Object.keys(Errors)) t.true(text.split(code).length > 2, `${code} is only in the enum`);
});

test('docs/asyncapi.yaml is valid AsyncAPI 3 for @asyncapi/parser, and describes the message, ready, offline, ids and retry', async (t) => {
  const { document, diagnostics } = await new Parser().parse(readFileSync(ASYNCAPI, 'utf8'));
  // Severity 0 is an error, 1 a warning (2 and 3: information and hints, such as a newer version).
  const problems = diagnostics.filter((d) => Number(d.severity) <= 1);
  t.deepEqual(
    problems.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`),
    [],
  );
  t.truthy(document);
  t.true(document!.version().startsWith('3.'));
  const names = new Set(
    document!
      .allMessages()
      .all()
      .map((m) => m.name()),
  );
  t.deepEqual([...names].sort(), ['message', 'offline', 'ready']);
  const text = readFileSync(ASYNCAPI, 'utf8');
  for (const term of ['Last-Event-ID', 'retry:', 'id:']) t.true(text.includes(term), `${term} is not described`);
});
