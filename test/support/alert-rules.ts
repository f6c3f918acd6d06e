import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every rule of deploy/prometheus/heartbeat.rules.yml, the file Prometheus loads. */
export function alertRules(): AlertRule[] {
  const text = readFileSync(new URL('../../deploy/prometheus/heartbeat.rules.yml', import.meta.url), 'utf8');
  return (parse(text) as { groups: { rules: AlertRule[] }[] }).groups.flatMap((g) => g.rules);
}
