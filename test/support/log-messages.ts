import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

export interface LoggedMessage {
  /** The `msg`; a message built by concatenation is its literal start followed by `…`. */
  readonly msg: string;
  readonly level: string;
  /** `file:line`, for failure messages. */
  readonly at: string;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** The text(s) a `msg` argument can take: a literal, `a ? 'x' : 'y'`, `'start ' + …` or `` `start ${…}` ``. */
function texts(node: ts.Expression): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  // `text ${value} …`: its literal start, like a concatenation.
  if (ts.isTemplateExpression(node)) return [`${node.head.text}…`];
  if (ts.isConditionalExpression(node)) return [...texts(node.whenTrue), ...texts(node.whenFalse)];
  if (ts.isParenthesizedExpression(node)) return texts(node.expression);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const [start] = texts(node.left);
    return start === undefined ? [] : [`${start.replace(/…$/, '')}…`];
  }
  return [];
}

/** The level(s) of `log.info(…)`, `log?.debug(…)` or `log[up ? 'info' : 'warn'](…)`. */
function levelsOf(callee: ts.Expression): string[] {
  if (ts.isPropertyAccessExpression(callee) && LEVELS.has(callee.name.text)) return [callee.name.text];
  if (ts.isElementAccessExpression(callee)) return texts(callee.argumentExpression).filter((l) => LEVELS.has(l));
  return [];
}

/**
 * Every message the code logs through pino, read from the TypeScript source (not by running it):
 * the calls `<logger>.<level>(…)` whose receiver is named like a logger (`log`, `debug`, …).
 */
export function loggedMessages(root: string, dirs: readonly string[] = ['src']): LoggedMessage[] {
  const out: LoggedMessage[] = [];
  for (const file of dirs.flatMap((d) => filesUnder(path.join(root, d)))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && node.arguments.length > 0) {
        const callee = node.expression;
        const receiver =
          ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee) ? callee.expression.getText(source) : '';
        const levels = levelsOf(callee);
        if (levels.length > 0 && /\b(log|logger|debug)\b/.test(receiver)) {
          const msgs = texts(node.arguments[node.arguments.length - 1]);
          const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
          // `log[up ? 'info' : 'warn'](…, up ? 'available' : 'unavailable')`: paired in order.
          msgs.forEach((msg, i) =>
            out.push({ msg, level: levels[Math.min(i, levels.length - 1)], at: `${path.relative(root, file)}:${line}` }),
          );
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

/**
 * The log table of a Markdown document: the rows under a header whose first cell is `msg`, each
 * message a backticked item of the first cell (several separated by ` / `), its level the
 * matching item of the second cell (or the only one).
 */
export function documentedMessages(markdown: string): { msg: string; level: string }[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => /^\|\s*`msg`\s*\|\s*level\s*\|/.test(l));
  if (header < 0) return [];
  const out: { msg: string; level: string }[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [msgCell, levelCell] = line
      .split(/(?<!\\)\|/)
      .slice(1)
      .map((c) => c.trim());
    const msgs = [...msgCell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const levels = levelCell.split(/\s*[/,]\s*/).filter(Boolean);
    msgs.forEach((msg, i) => out.push({ msg, level: levels[Math.min(i, levels.length - 1)] }));
  }
  return out;
}

/** Whether a documented message names a logged one: equal, or both start alike up to a `…`. */
export function sameMessage(documented: string, logged: string): boolean {
  if (documented === logged) return true;
  const stem = (s: string) => s.replace(/\s*…$/, '');
  if (documented.endsWith('…')) return logged.startsWith(stem(documented)) || stem(logged).startsWith(stem(documented));
  return logged.endsWith('…') && documented.startsWith(stem(logged));
}
