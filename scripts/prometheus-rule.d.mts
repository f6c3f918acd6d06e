// Types for prometheus-rule.mjs, for the TS tests.
/** The rules file Prometheus loads, the one source of heartbeat's alerts. */
export const RULES_FILE: string;
/** The PrometheusRule generated from it. */
export const PROMETHEUS_RULE_FILE: string;
/** The PrometheusRule's text for a rules file's text. */
export function prometheusRule(rules: string): string;
