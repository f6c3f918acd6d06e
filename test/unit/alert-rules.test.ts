import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { PROMETHEUS_RULE_FILE, RULES_FILE, prometheusRule } from '../../scripts/prometheus-rule.mjs';
import { alertRules, type AlertRule } from '../support/alert-rules.js';

/**
 * heartbeat's alerts are files Prometheus loads: deploy/prometheus/heartbeat.rules.yml and the
 * PrometheusRule generated from it. promtool (Prometheus' own checker) parses every expression and
 * runs the alert tests of test/prometheus/; here too: each alert is scoped to job="heartbeat", has
 * a severity, a summary and a runbook that exists. That each metric they name is exported by a
 * running heartbeat is checked in test/integration/dashboard.test.ts.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}/${file}`, 'utf8');
const rules = alertRules();

/** promtool from PATH (.ci/run installs it from Debian's `prometheus` package). */
function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: string; stdout?: string; stderr?: string };
    if (code === 'ENOENT')
      throw new Error('promtool is not on the PATH: .ci/run installs it (Debian package prometheus)', { cause: error });
    throw new Error(`promtool ${args.join(' ')}:\n${stdout}${stderr}`, { cause: error });
  }
}

test('promtool accepts the rules file: every expression parses, every template renders', (t) => {
  t.regex(promtool('check', 'rules', RULES_FILE), new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test('promtool rule tests: each alert fires on its condition, for job="heartbeat" only (test/prometheus/)', (t) => {
  t.regex(promtool('test', 'rules', 'test/prometheus/heartbeat.rules.test.yml'), /SUCCESS/);
});

test('the PrometheusRule is the rules file, generated (npm run alerts)', (t) => {
  t.is(read(PROMETHEUS_RULE_FILE), prometheusRule(read(RULES_FILE)), `${PROMETHEUS_RULE_FILE} is stale: run npm run alerts`);
  const resource = parse(read(PROMETHEUS_RULE_FILE)) as { apiVersion: string; kind: string; spec: unknown };
  t.is(resource.apiVersion, 'monitoring.coreos.com/v1');
  t.is(resource.kind, 'PrometheusRule');
  t.deepEqual(resource.spec, parse(read(RULES_FILE)));
});

test('every alert has a severity, a summary and a runbook: its own section of docs/operations.md', (t) => {
  t.true(rules.length >= 10, `${rules.length} alerts`);
  const headings = new Set([...read('docs/operations.md').matchAll(/^### (\S+)$/gm)].map((m) => m[1]));
  for (const rule of rules) {
    t.true(['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
    t.truthy(rule.annotations?.summary, `${rule.alert}: summary`);
    t.is(rule.annotations?.runbook_url, `docs/operations.md#${rule.alert.toLowerCase()}`, rule.alert);
    t.true(headings.has(rule.alert), `docs/operations.md has no section "### ${rule.alert}"`);
  }
});

/** The metric selectors of an expression that do not select job="heartbeat". */
function unscoped(rule: AlertRule): string[] {
  const out: string[] = [];
  for (const [, name, selector] of rule.expr.matchAll(/\b(up|(?:heartbeat|nodejs|process)_[a-z0-9_]+)\b(\{[^}]*\})?/g)) {
    if (!selector?.includes('job="heartbeat"')) out.push(name + (selector ?? ''));
  }
  return out;
}

test('every alert is scoped to heartbeat’s job: each series it reads selects job="heartbeat"', (t) => {
  for (const rule of rules) t.deepEqual(unscoped(rule), [], rule.alert);
  t.deepEqual(unscoped({ alert: 'x', expr: 'process_open_fds / process_max_fds{job="heartbeat"} > 0.8' }), ['process_open_fds']);
});
