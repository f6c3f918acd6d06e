import { loadConfig } from '../../src/config.js';

/**
 * Every environment variable the service's configuration reads, found by running loadConfig over
 * an environment that records each name asked for (so the list cannot drift from the code).
 */
export function acceptedVariables(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy(
    {},
    {
      get(_, name) {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    },
  );
  loadConfig(env);
  return read;
}
