import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import 'xstate'; // loaded in this thread before xstateFastPath() looks (the patch registers itself on load)
import { isNativeUws } from '../http/uws.js';

/** Our version: package.json is two levels up from src/admin/ and three from dist/src/admin/. */
export function heartbeatVersion(): string | undefined {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name: string; version: string };
      if (pkg.name === 'heartbeat') return pkg.version;
    } catch {
      // not at this level
    }
  }
  return undefined;
}

/**
 * The uWebSockets.js package as `name@version` (`@based/uws@6.0.1`): the npm alias hides it from
 * our package.json, and its version is its publisher's, not uWebSockets.js's own (6.0.1 carries
 * v20.51.0). Its package.json is next to its entry file.
 */
function uwsVersion(): string {
  try {
    const main = createRequire(import.meta.url).resolve('uWebSockets.js');
    const pkg = JSON.parse(readFileSync(path.join(path.dirname(main), 'package.json'), 'utf8')) as { name: string; version: string };
    return `${pkg.name}@${pkg.version}`;
  } catch {
    return 'unknown';
  }
}

/**
 * Whether the XState running here carries heartbeat's fast path (patches/, docs/xstate-patch.md):
 * the patched runtime registers its step counter on globalThis when it loads, so this is the code
 * actually loaded, not a file on disk.
 */
export function xstateFastPath(): boolean {
  return Symbol.for('heartbeat.xstate.targetlessFastPath') in globalThis;
}

interface BuildInfo {
  version: string;
  node: string;
  uws: string;
  uws_native: string;
  xstate_fast_path: string;
}

let cached: BuildInfo | null = null;

/** The labels of heartbeat_build_info, read once. */
export function buildInfo(): BuildInfo {
  cached ??= {
    version: heartbeatVersion() ?? 'unknown',
    node: process.version,
    uws: uwsVersion(),
    uws_native: String(isNativeUws()),
    xstate_fast_path: String(xstateFastPath()),
  };
  return cached;
}
