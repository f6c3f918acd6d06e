import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { loadConfig } from '../../src/process/config.js';
import { readmeSettings } from '../support/config-variables.js';

/**
 * .env.example lists every setting of README's configuration table, in its order, each commented
 * out with its default: the value README names, and README's words for it. Uncommented as it is,
 * the file configures exactly what no file configures (so a copy changes only what one edits).
 */
const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
/** Each `# NAME=value` line, with the comment lines above it (up to the previous blank line). */
const entries = text.split(/\n\s*\n/).flatMap((block) => {
  const lines = block.split('\n').filter(Boolean);
  const match = /^# ([A-Z][A-Z0-9_]*)=(.*)$/.exec(lines.at(-1) ?? '');
  return match ? [{ name: match[1], value: match[2], comment: lines.slice(0, -1).join(' ') }] : [];
});
const settings = readmeSettings();

test('.env.example and README’s configuration table list the same variables, in the same order', (t) => {
  t.true(settings.length >= 20, `${settings.length} rows in README's table`);
  t.deepEqual(
    entries.map((e) => e.name),
    settings.map((s) => s.name),
  );
});

test('each variable of .env.example has README’s default: as its value, and in words', (t) => {
  for (const { name, defaultText } of settings) {
    const entry = entries.find((e) => e.name === name);
    if (!entry) continue; // reported by the test above
    // README's first `literal` is the value; a default in words only ("empty (no CORS)") is empty.
    t.is(entry.value, /`([^`]*)`/.exec(defaultText)?.[1] ?? '', `${name}'s value`);
    t.true(entry.comment.replace(/ #/g, '').includes(`Default: ${defaultText.replace(/`/g, '')}`), `${name}: "Default: ${defaultText}"`);
  }
});

test('.env.example uncommented configures the defaults (REDIS named explicitly, so never falling back)', (t) => {
  const uncommented = parseEnv(text.replace(/^# ([A-Z][A-Z0-9_]*=)/gm, '$1'));
  t.is(Object.keys(uncommented).length, settings.length);
  const { redis, ...rest } = loadConfig(uncommented);
  const { redis: defaultRedis, ...defaults } = loadConfig({});
  t.deepEqual(rest, defaults);
  t.deepEqual(redis, { kind: 'standalone', url: defaultRedis.kind === 'auto' ? defaultRedis.url : '' });
});
