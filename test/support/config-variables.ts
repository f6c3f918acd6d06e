import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/process/config.js';

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

/** The rows of README.md's configuration table: each variable and its default as written there. */
export function readmeSettings(): { name: string; defaultText: string }[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = readme.split('\n## Configuration\n')[1]?.split('\n## ')[0] ?? '';
  return [...table.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/gm)].map(([, name, defaultText]) => ({
    name,
    defaultText: defaultText.trim(),
  }));
}
