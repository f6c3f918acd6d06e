import { readFileSync } from 'node:fs';
import { startAdminServer, type AdminServer } from './admin/server.js';
import { loadConfig, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { isNativeUws } from './http/uws.js';
import { createLogger, type Logger } from './logger.js';
import { connectBackend } from './presence/connect.js';
import { HeartbeatService } from './service.js';

/** The soft open-file limit, which bounds how many streams one process can hold. */
function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) ? soft : 20_000;
  } catch {
    return 20_000;
  }
}

function readConfig(): Config {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return loadConfig(process.env, openFileLimit());
}

/** Our version: package.json is one level up from src/ and two from dist/src/. */
function versions(): Record<string, string> {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name: string; version: string };
      if (pkg.name === 'heartbeat') return { heartbeat: pkg.version, node: process.version };
    } catch {
      // not at this level
    }
  }
  return { node: process.version };
}

async function run(config: Config, log: Logger): Promise<void> {
  const native = isNativeUws();
  if (!native && !config.allowUwsFallback) {
    log.fatal(
      'uWebSockets.js could not load its native binary for this Node/glibc and fell back to its JS shim, ' +
        'which is many times slower and has no real backpressure. Refusing to start; set ALLOW_UWS_FALLBACK=1 to run anyway.',
    );
    process.exit(1);
  }
  const backend = await connectBackend(config.redis, config.keyPrefix, log, config.redisWaitReplicas);
  const service = new HeartbeatService({ config, backend, log });
  let admin: AdminServer | null = null;
  // Signal handlers first: a signal that arrives while starting must still shut down cleanly.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, streams: service.subscriptions.size() }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error({ timeoutSeconds: config.shutdownTimeoutSeconds }, 'shutdown timed out');
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    service.shutdown().then(
      () => {
        clearTimeout(deadline);
        // Last: /readyz answers "shutting down" for the whole drain.
        admin?.close();
        log.info('shutdown complete');
        // Let uWS flush the final writes before the process goes.
        setTimeout(() => process.exit(0), 50);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const port = await service.listen();
  admin = config.adminListen ? await startAdminServer({ source: service, listen: config.adminListen, log }) : null;
  log.info(
    { listen: `${config.listen.host || '*'}:${port}`, admin: admin?.address ?? 'disabled', store: backend.mode, uwsNative: native, ...versions() },
    'heartbeat started',
  );
}

let config: Config;
try {
  config = readConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`heartbeat: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
const log = createLogger(config.logLevel);
run(config, log).catch((error: unknown) => {
  log.fatal({ err: error }, 'heartbeat failed to start');
  process.exit(1);
});
