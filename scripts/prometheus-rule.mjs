// Writes deploy/k8s/monitoring/prometheusrule.yaml from deploy/prometheus/heartbeat.rules.yml:
// the Prometheus Operator's PrometheusRule carries the same `groups:` under `spec:`. One source,
// two files Prometheus loads; test/unit/alert-rules.test.ts fails when they disagree.
//   npm run alerts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RULES_FILE = 'deploy/prometheus/heartbeat.rules.yml';
export const PROMETHEUS_RULE_FILE = 'deploy/k8s/monitoring/prometheusrule.yaml';

/** The PrometheusRule for a rules file's text: its header comment dropped, its body under `spec:`. */
export function prometheusRule(rules) {
  const lines = rules.split('\n');
  const body = lines.slice(lines.findIndex((line) => !line.startsWith('#')));
  return [
    `# Generated from ${RULES_FILE} by \`npm run alerts\`: edit that file, not this one.`,
    '# Your Prometheus must select it (kube-prometheus-stack: the label `release: <its release>`,',
    '# or ruleSelectorNilUsesHelmValues=false): deploy/k8s/README.md, "Metrics and alerts".',
    'apiVersion: monitoring.coreos.com/v1',
    'kind: PrometheusRule',
    'metadata:',
    '  name: heartbeat',
    '  labels:',
    '    app.kubernetes.io/name: heartbeat',
    'spec:',
    ...body.map((line) => (line === '' ? '' : `  ${line}`)),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  writeFileSync(root + PROMETHEUS_RULE_FILE, prometheusRule(readFileSync(root + RULES_FILE, 'utf8')));
  console.log(`wrote ${PROMETHEUS_RULE_FILE}`);
}
