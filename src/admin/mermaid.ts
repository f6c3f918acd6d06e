import type { AnyStateMachine } from 'xstate';
import { actionsText, actionText, clean, delayText, guardText, RESERVED, srcText } from './mermaid-labels.js';

/**
 * Mermaid `stateDiagram-v2` text generated from an XState v5 machine definition, by walking
 * `machine.root`: nothing here is drawn by hand, so a diagram can never drift from its machine.
 *
 * - an edge per targeted transition, labelled `event [guard] / action, action`; `after <delay>`,
 *   `always`, `done: <actor>` / `error: <actor>` (invoke), `done` (a compound state finished);
 * - inside a state box (UML style): `entry / …`, `exit / …`, `invoke <actor>`, and the
 *   transitions that run actions without leaving the state;
 * - transitions defined on the machine itself (taken in every state) start from a dashed
 *   `any state` box; `[*] -->` the initial state, final states `--> [*]`;
 * - compound states are Mermaid composite states, parallel regions are separated by `--`.
 */

/** The parts of an XState state node the generator reads (public fields of StateNode). */
interface Node {
  readonly key: string;
  readonly id: string;
  readonly path: readonly string[];
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly states: Record<string, Node>;
  readonly transitions: Map<string, readonly Transition[]>;
  readonly after: readonly Transition[];
  readonly always?: readonly Transition[];
  readonly invoke: readonly { id: string; src: unknown }[];
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly initial?: { readonly target: readonly Node[] };
}

interface Transition {
  readonly target?: readonly Node[];
  readonly guard?: unknown;
  readonly actions?: readonly unknown[];
  readonly delay?: unknown;
}

export interface DiagramOptions {
  /**
   * Live actors per state, keyed by the state's path below the root joined with `.` (`live`,
   * `connected.idle`): each state's label gets ` (n)` and occupied states are highlighted.
   */
  readonly counts?: Readonly<Record<string, number>>;
}

const ANY_STATE_LABEL = 'any state';
function children(node: Node): Node[] {
  return Object.values(node.states).filter((c) => c.type !== 'history');
}

/** Every leaf state's path below the root joined with `.` (the keys of DiagramOptions.counts). */
export function leafStates(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const walk = (node: Node) => {
    const kids = children(node);
    if (kids.length === 0 && node.path.length > 0) out.push(node.path.join('.'));
    kids.forEach(walk);
  };
  walk(machine.root);
  return out;
}

/** The leaf-state keys of a snapshot's `value` (`'live'`, `{ a: 'idle' }` → `['a.idle']`). */
export function stateKeys(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      v && typeof v === 'object' && Object.keys(v).length === 0 ? [prefix + k] : stateKeys(v, `${prefix}${k}.`),
    );
  }
  return [];
}

export function toMermaid(machine: AnyStateMachine, options: DiagramOptions = {}): string {
  return new Writer(machine.root, options).text();
}

class Writer {
  private readonly lines: string[] = ['stateDiagram-v2'];
  private readonly edges: string[] = [];
  private readonly ids = new Map<Node, string>();
  private readonly used = new Set<string>();
  private readonly annotate: boolean;

  constructor(
    private readonly root: Node,
    private readonly options: DiagramOptions,
  ) {
    this.annotate = options.counts !== undefined;
  }

  text(): string {
    const { root } = this;
    const kids = children(root);
    const anyState = this.hasOwnBehaviour(root) ? this.reserve('any_state') : null;
    if (kids.length === 0) {
      // A machine without states: the root is its one state.
      this.ids.set(root, this.reserve(root.key || 'machine'));
      this.declareAtomic(root, 1, root.key || 'machine');
      this.lines.push(`  [*] --> ${this.id(root)}`);
    } else {
      for (const node of this.all(root)) if (node !== root) this.id(node);
      if (anyState) {
        this.ids.set(root, anyState);
        this.lines.push(`  state "${ANY_STATE_LABEL}" as ${anyState}`);
        this.describe(root, anyState, 1);
      }
      this.block(root, 1);
      if (anyState) this.collectEdges(root, anyState);
      for (const node of this.all(root)) if (node !== root) this.collectEdges(node, this.id(node));
    }
    this.lines.push(...this.edges);
    if (anyState) {
      this.lines.push('  classDef anyState fill:none,stroke-dasharray:4 4');
      this.lines.push(`  class ${anyState} anyState`);
    }
    if (this.annotate) {
      const occupied = this.all(root).filter((n) => n !== root && children(n).length === 0 && this.count(n) > 0);
      this.lines.push('  classDef occupied fill:#d1fae5,stroke:#059669,stroke-width:2px');
      if (occupied.length > 0) this.lines.push(`  class ${occupied.map((n) => this.id(n)).join(',')} occupied`);
    }
    return this.lines.join('\n') + '\n';
  }

  private all(node: Node): Node[] {
    return [node, ...children(node).flatMap((c) => this.all(c))];
  }

  private reserve(wanted: string): string {
    let base = wanted.replace(/[^A-Za-z0-9_]/g, '_') || 'state';
    if (/^[0-9]/.test(base)) base = `s_${base}`;
    if (RESERVED.has(base.toLowerCase())) base = `${base}_`;
    let id = base;
    for (let i = 2; this.used.has(id); i++) id = `${base}_${i}`;
    this.used.add(id);
    return id;
  }

  private id(node: Node): string {
    let id = this.ids.get(node);
    if (id === undefined) {
      id = this.reserve(node.path.join('_'));
      this.ids.set(node, id);
    }
    return id;
  }

  private count(node: Node): number {
    return this.options.counts?.[node.path.join('.')] ?? 0;
  }

  /** Whether the root has transitions, actions or actors of its own (then it gets `any state`). */
  private hasOwnBehaviour(node: Node): boolean {
    return (
      node.transitions.size > 0 ||
      node.invoke.length > 0 ||
      (node.always?.length ?? 0) > 0 ||
      node.entry.some((a) => actionText(a) !== null) ||
      node.exit.some((a) => actionText(a) !== null)
    );
  }

  /** The children of a compound or parallel state, then its `[*]` edges. */
  private block(node: Node, depth: number): void {
    const pad = '  '.repeat(depth);
    const kids = children(node);
    if (node.type === 'parallel') {
      kids.forEach((region, i) => {
        if (i > 0) this.lines.push(`${pad}--`);
        this.declare(region, depth);
      });
      return;
    }
    for (const child of kids) this.declare(child, depth);
    for (const target of node.initial?.target ?? []) this.lines.push(`${pad}[*] --> ${this.id(target)}`);
    for (const child of kids) if (child.type === 'final') this.lines.push(`${pad}${this.id(child)} --> [*]`);
  }

  private declare(node: Node, depth: number): void {
    const pad = '  '.repeat(depth);
    const id = this.id(node);
    if (children(node).length === 0) return this.declareAtomic(node, depth, node.key);
    this.lines.push(id === node.key ? `${pad}state ${id} {` : `${pad}state "${clean(node.key)}" as ${id} {`);
    this.block(node, depth + 1);
    this.lines.push(`${pad}}`);
    this.describe(node, id, depth);
  }

  private declareAtomic(node: Node, depth: number, key: string): void {
    const pad = '  '.repeat(depth);
    const id = this.id(node);
    const label = this.annotate ? `${key} (${this.count(node)})` : key;
    this.lines.push(label === id ? `${pad}state ${id}` : `${pad}state "${clean(label)}" as ${id}`);
    this.describe(node, id, depth);
  }

  /** UML-style text inside the state box: entry/exit actions, actors, internal transitions. */
  private describe(node: Node, id: string, depth: number): void {
    const pad = '  '.repeat(depth);
    const out: string[] = [];
    const entry = actionsText(node.entry);
    if (entry) out.push(`entry / ${entry}`);
    for (const invoke of node.invoke) out.push(`invoke ${srcText(invoke.src)}`);
    for (const { label, transition } of this.transitionsOf(node)) {
      if (!transition.target || transition.target.length === 0) out.push(label);
    }
    const exit = actionsText(node.exit);
    if (exit) out.push(`exit / ${exit}`);
    for (const text of out) this.lines.push(`${pad}${id} : ${clean(text)}`);
  }

  private collectEdges(node: Node, from: string): void {
    for (const { label, transition } of this.transitionsOf(node)) {
      for (const target of transition.target ?? []) this.edges.push(`  ${from} --> ${this.id(target)} : ${clean(label)}`);
    }
  }

  /** Every transition of a node with its label, in definition order: events, after, always. */
  private transitionsOf(node: Node): { label: string; transition: Transition }[] {
    const out: { label: string; transition: Transition }[] = [];
    const add = (event: string, transition: Transition) => {
      const guard = transition.guard === undefined ? '' : ` [${guardText(transition.guard)}]`;
      const actions = actionsText(transition.actions);
      out.push({ label: `${event}${guard}${actions ? ` / ${actions}` : ''}`, transition });
    };
    for (const [event, list] of node.transitions) {
      if (event.startsWith('xstate.after.')) continue; // listed in node.after, with the delay's name
      for (const t of list) add(this.eventText(node, event), t);
    }
    for (const t of node.after) add(`after ${delayText(t.delay)}`, t);
    for (const t of node.always ?? []) add('always', t);
    return out;
  }

  private eventText(node: Node, event: string): string {
    const actor = /^xstate\.(done|error)\.actor\.(.*)$/.exec(event);
    if (actor) {
      const invoke = node.invoke.find((i) => i.id === actor[2]);
      return `${actor[1]}: ${invoke ? srcText(invoke.src) : actor[2]}`;
    }
    if (event.startsWith('xstate.done.state.')) return 'done';
    if (event === '*') return '* (any event)';
    return event;
  }
}
