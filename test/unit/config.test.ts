// loadConfig: what each environment variable accepts, and how a bad value is reported.
import test from 'ava';
import { loadConfig } from '../../src/process/config.js';
import { ConfigError } from '../../src/process/config.js';

test('defaults', (t) => {
  const config = loadConfig({}, 20_000);
  t.deepEqual(config.listen, { host: '', port: 8080 });
  t.deepEqual(config.redis, { kind: 'auto', url: 'redis://127.0.0.1:6379' });
  t.is(config.keyPrefix, 'heartbeat:');
  t.is(config.keepaliveSeconds, 25);
  t.is(config.slowClientTimeoutSeconds, 60);
  t.is(config.maxUsersPerStream, 500);
  t.is(config.maxConnections, 19_000);
  t.deepEqual(config.adminListen, { host: '127.0.0.1', port: 9090 });
  // Loopback only: a neighbour on the proxy's network is not trusted until TRUSTED_PROXIES names it.
  t.deepEqual(config.trustedProxies, ['127.0.0.0/8', '::1/128']);
  t.deepEqual(config.invisibleStatuses, ['3']);
  t.deepEqual(config.corsOrigins, []);
  t.is(config.shutdownTimeoutSeconds, 10);
  t.is(config.logLevel, 'info');
  t.is(config.workers, 1);
  t.false(config.allowUwsFallback);
  t.is(config.maxStreamsPerUser, 100);
  t.is(config.pingRate, 2);
  t.is(config.pingBurst, 10);
  t.is(config.clientKeyTtlSeconds, 30 * 86_400);
});

test('abuse limits and CLIENT_KEY_TTL: 0 switches PING_RATE and CLIENT_KEY_TTL off', (t) => {
  const config = loadConfig({ MAX_STREAMS_PER_USER: '3', PING_RATE: '0.5', PING_BURST: '4', CLIENT_KEY_TTL: '60' });
  t.is(config.maxStreamsPerUser, 3);
  t.is(config.pingRate, 0.5);
  t.is(config.pingBurst, 4);
  t.is(config.clientKeyTtlSeconds, 60);
  const off = loadConfig({ PING_RATE: '0', CLIENT_KEY_TTL: '0' });
  t.is(off.pingRate, 0);
  t.is(off.clientKeyTtlSeconds, 0);
});

test('empty values fall back to the defaults', (t) => {
  const config = loadConfig({ LISTEN: '', KEEPALIVE: '', WORKERS: ' ', TRUSTED_PROXIES: '', LOG_LEVEL: '' });
  t.deepEqual(config.listen, { host: '', port: 8080 });
  t.is(config.keepaliveSeconds, 25);
  t.is(config.workers, 1);
  t.deepEqual(config.trustedProxies, loadConfig({}).trustedProxies);
  t.is(config.logLevel, 'info');
});

const listenForms: [string, { host: string; port: number }][] = [
  [':8080', { host: '', port: 8080 }],
  ['8080', { host: '', port: 8080 }],
  ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
  ['[::1]:8080', { host: '::1', port: 8080 }],
  ['localhost:3000', { host: 'localhost', port: 3000 }],
  [' :8081 ', { host: '', port: 8081 }],
];

for (const [value, listen] of listenForms) {
  test(`LISTEN=${JSON.stringify(value)}`, (t) => {
    t.deepEqual(loadConfig({ LISTEN: value }).listen, listen);
  });
}

test('ADMIN_LISTEN takes the LISTEN forms; empty disables the admin port', (t) => {
  t.deepEqual(loadConfig({ ADMIN_LISTEN: '[::1]:9091' }).adminListen, { host: '::1', port: 9091 });
  t.deepEqual(loadConfig({ ADMIN_LISTEN: '9091' }).adminListen, { host: '', port: 9091 });
  t.is(loadConfig({ ADMIN_LISTEN: '' }).adminListen, null);
});

const redisForms: [string, unknown][] = [
  ['redis.internal:6380', { kind: 'standalone', url: 'redis://redis.internal:6380' }],
  ['redis.internal', { kind: 'standalone', url: 'redis://redis.internal:6379' }],
  [':6380', { kind: 'standalone', url: 'redis://127.0.0.1:6380' }],
  ['[::1]:6380', { kind: 'standalone', url: 'redis://[::1]:6380' }],
  ['redis://user:pw@redis.internal:6380/2', { kind: 'standalone', url: 'redis://user:pw@redis.internal:6380/2' }],
  ['rediss://redis.example.com:6380', { kind: 'standalone', url: 'rediss://redis.example.com:6380' }],
  [
    'redis-cluster://a:1,b:2',
    {
      kind: 'cluster',
      seeds: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    },
  ],
  [
    'redis-cluster://a,:7001',
    {
      kind: 'cluster',
      seeds: [
        { host: 'a', port: 6379 },
        { host: '127.0.0.1', port: 7001 },
      ],
    },
  ],
  ['memory', { kind: 'embedded' }],
];

for (const [value, redis] of redisForms) {
  test(`REDIS=${value}`, (t) => {
    t.deepEqual(loadConfig({ REDIS: value }).redis, redis);
  });
}

test('numbers and flags', (t) => {
  const config = loadConfig({
    KEEPALIVE: '0.5',
    SLOW_CLIENT_TIMEOUT: '5',
    MAX_USERS_PER_STREAM: '3',
    MAX_CONNECTIONS: '100',
    LISTEN_BACKLOG: '8192',
    SHUTDOWN_TIMEOUT: '2',
    KEY_PREFIX: 'hb:',
    LOG_LEVEL: 'debug',
    ALLOW_UWS_FALLBACK: 'yes',
  });
  t.is(config.keepaliveSeconds, 0.5);
  t.is(config.slowClientTimeoutSeconds, 5);
  t.is(config.maxUsersPerStream, 3);
  t.is(config.maxConnections, 100);
  t.is(config.listenBacklog, 8192);
  t.is(config.shutdownTimeoutSeconds, 2);
  t.is(config.keyPrefix, 'hb:');
  t.is(config.logLevel, 'debug');
  t.true(config.allowUwsFallback);
});

test('INVISIBLE_STATUSES is a comma-separated list; empty disables the feature', (t) => {
  t.deepEqual(loadConfig({ INVISIBLE_STATUSES: '3, hidden ,,offline' }).invisibleStatuses, ['3', 'hidden', 'offline']);
  t.deepEqual(loadConfig({ INVISIBLE_STATUSES: '' }).invisibleStatuses, []);
  t.deepEqual(loadConfig({ INVISIBLE_STATUSES: ' ' }).invisibleStatuses, []);
});

test('CORS_ORIGINS takes origins as browsers send them, or *; empty means no CORS', (t) => {
  t.deepEqual(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' }).corsOrigins, [
    'https://app.example.com',
    'http://localhost:3000',
  ]);
  t.is(loadConfig({ CORS_ORIGINS: ' * ' }).corsOrigins, '*');
  t.deepEqual(loadConfig({ CORS_ORIGINS: '' }).corsOrigins, []);
});

test('TRUSTED_PROXIES takes addresses and CIDRs, or * for every peer', (t) => {
  t.deepEqual(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, ::1 ,172.28.0.5' }).trustedProxies, ['10.0.0.0/8', '::1', '172.28.0.5']);
  t.is(loadConfig({ TRUSTED_PROXIES: '*' }).trustedProxies, '*');
});

/** The accepted forms each variable's error must spell out. */
const invalid: [variable: string, value: string, mentions: string[]][] = [
  ['LISTEN', 'abc', ['`:8080`', '`8080`', '`127.0.0.1:8080`', '`[::1]:8080`']],
  ['LISTEN', ':99999', ['`:8080`', '`[::1]:8080`']],
  ['LISTEN', '::1:8080', ['`[::1]:8080`']],
  ['ADMIN_LISTEN', 'nope', ['`127.0.0.1:8080`']],
  ['REDIS', '', ['`host:port`', '`redis://…`', '`rediss://…`', '`redis-cluster://', '`memory`']],
  ['REDIS', 'redis-cluster://', ['`redis-cluster://']],
  ['REDIS', 'redis.internal:0', ['`host:port`']],
  ['KEEPALIVE', '0', ['positive number of seconds']],
  ['KEEPALIVE', 'x', ['positive number of seconds']],
  ['KEEPALIVE', '-5', ['positive number of seconds']],
  ['KEEPALIVE', 'Infinity', ['positive number of seconds']],
  ['SLOW_CLIENT_TIMEOUT', '0', ['positive number of seconds']],
  ['TRUSTED_PROXIES', 'bogus', ['`10.0.0.0/8,::1`', '`*`']],
  // An origin is scheme://host[:port] exactly as a browser sends it: no path, no slash, lower case.
  ['CORS_ORIGINS', 'app.example.com', ['origins', '`*`']],
  ['CORS_ORIGINS', 'https://app.example.com/', ['origins']],
  ['CORS_ORIGINS', 'https://App.example.com', ['origins']],
  ['CORS_ORIGINS', 'https://app.example.com:443', ['origins']],
  ['CORS_ORIGINS', 'ftp://files.example.com', ['origins']],
  ['CORS_ORIGINS', 'https://a.example.com,*', ['origins']],
  ['LOG_LEVEL', 'loud', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']],
  ['MAX_USERS_PER_STREAM', '1.5', ['positive integer']],
  ['MAX_CONNECTIONS', '0', ['positive integer']],
  ['WORKERS', 'many', ['positive integer']],
  ['LISTEN_BACKLOG', '0', ['positive integer']],
  ['ALLOW_UWS_FALLBACK', 'maybe', ['`1`', '`0`']],
  ['MAX_STREAMS_PER_USER', '0', ['positive integer']],
  ['PING_RATE', '-1', ['pings per second', '0 for no limit']],
  ['PING_RATE', 'fast', ['pings per second']],
  ['PING_BURST', '0', ['positive integer']],
  ['PING_BURST', '2.5', ['positive integer']],
  ['CLIENT_KEY_TTL', '1.5', ['whole seconds', '0: never']],
  ['CLIENT_KEY_TTL', '-1', ['whole seconds']],
];

for (const [variable, value, mentions] of invalid) {
  test(`${variable}=${JSON.stringify(value)} is refused, naming the variable and the accepted forms`, (t) => {
    const error = t.throws(() => loadConfig({ [variable]: value }), { instanceOf: ConfigError });
    t.is(error.variable, variable);
    t.true(error.message.startsWith(`invalid ${variable}=`), error.message);
    for (const form of mentions) t.true(error.message.includes(form), `${error.message} should mention ${form}`);
  });
}

test('WATCH_POLICY: anyone by default; contacts needs an http(s) CONTACTS_URL; CONTACTS_TTL and CONTACTS_TIMEOUT are seconds', (t) => {
  const config = loadConfig({});
  t.is(config.watchPolicy, 'anyone');
  t.is(config.contactsUrl, null);
  t.is(config.contactsTtlSeconds, 60);
  t.is(config.contactsTimeoutSeconds, 2);
  const contacts = loadConfig({
    WATCH_POLICY: 'contacts',
    CONTACTS_URL: 'http://core:10200/user/contact',
    CONTACTS_TTL: '5',
    CONTACTS_TIMEOUT: '0.5',
  });
  t.like(contacts, {
    watchPolicy: 'contacts',
    contactsUrl: 'http://core:10200/user/contact',
    contactsTtlSeconds: 5,
    contactsTimeoutSeconds: 0.5,
  });
  const bad = (env: Record<string, string>, variable: string) =>
    t.is(t.throws(() => loadConfig(env), { instanceOf: ConfigError })?.variable, variable);
  bad({ WATCH_POLICY: 'contacts' }, 'CONTACTS_URL');
  bad({ WATCH_POLICY: 'friends' }, 'WATCH_POLICY');
  bad({ WATCH_POLICY: 'contacts', CONTACTS_URL: 'core:10200' }, 'CONTACTS_URL');
  bad({ CONTACTS_URL: 'ftp://core/x' }, 'CONTACTS_URL');
  bad({ CONTACTS_TTL: '0' }, 'CONTACTS_TTL');
  bad({ CONTACTS_TIMEOUT: 'soon' }, 'CONTACTS_TIMEOUT');
});
