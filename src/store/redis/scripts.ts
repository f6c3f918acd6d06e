import { readFileSync } from 'node:fs';

/**
 * The Lua scripts, kept as files (BullMQ-style) and loaded here only. The build copies the
 * .lua files next to the compiled JS, so this path works from src/ (tsx) and from dist/.
 */
function load(name: string): string {
  return readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
}

export const Scripts = {
  savePings: load('save-pings'),
  erasePresence: load('erase-presence'),
  readPings: load('read-pings'),
} as const;
