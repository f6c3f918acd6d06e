/**
 * The text of a Mermaid state diagram's parts, from XState's state-node fields: what a guard, an
 * action, an invoked actor or a delay is called on an edge or in a state box, and the ids and
 * characters Mermaid's grammar does not take (mermaid.ts draws the diagram with them).
 */

/** Words Mermaid's state grammar gives a meaning; a state id equal to one gets a `_` suffix. */
export const RESERVED = new Set([
  'as',
  'class',
  'classdef',
  'click',
  'default',
  'direction',
  'end',
  'hide',
  'left',
  'note',
  'of',
  'right',
  'state',
  'style',
  'tb',
  'bt',
  'lr',
  'rl',
  'root',
]);

/** Text Mermaid cannot take in a label or description (`;` ends a statement, `#` starts an entity). */
export function clean(text: string): string {
  return text
    .replace(/[;#"\r\n]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The name of a function an implementation was given inline (it is named after its property). */
const INLINE_NAMES = new Set(['', 'actions', 'entry', 'exit', 'guard', 'anonymous']);

export function guardText(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const g = guard as { name: string; guards?: unknown[] };
    if (Array.isArray(g.guards)) {
      if (g.name === 'not') return `!${guardText(g.guards[0])}`;
      if (g.name === 'and' || g.name === 'or') return `(${g.guards.map(guardText).join(g.name === 'and' ? ' && ' : ' || ')})`;
    }
    return INLINE_NAMES.has(g.name) ? 'inline' : g.name;
  }
  if (guard && typeof guard === 'object' && 'type' in guard) return String(guard.type);
  return 'guard';
}

/** An action's name, or null for the actions XState adds itself (delayed-event bookkeeping). */
export function actionText(action: unknown): string | null {
  if (typeof action === 'string') return action;
  if (typeof action === 'function') {
    const a = action as { name: string; type?: unknown; id?: unknown; sendId?: unknown };
    // The raise on entry and the cancel on exit XState adds for every `after` timer.
    for (const id of [a.id, a.sendId]) if (typeof id === 'string' && id.startsWith('xstate.after.')) return null;
    if (typeof a.type === 'string') return a.type.replace(/^xstate\./, '');
    return INLINE_NAMES.has(a.name) ? 'inline' : a.name;
  }
  if (action && typeof action === 'object' && 'type' in action) return String(action.type);
  return 'action';
}

export function actionsText(actions: readonly unknown[] | undefined): string {
  return (actions ?? [])
    .map(actionText)
    .filter((a) => a !== null)
    .join(', ');
}

export function srcText(src: unknown): string {
  if (typeof src === 'string') return src.startsWith('xstate.invoke.') ? 'inline actor' : src;
  return 'inline actor';
}

export function delayText(delay: unknown): string {
  if (typeof delay === 'number') return delay % 1000 === 0 && delay > 0 ? `${delay / 1000}s` : `${delay}ms`;
  if (typeof delay === 'string') return delay;
  return 'delay';
}
