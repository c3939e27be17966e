/**
 * The example Prometheus rules and Alertmanager route (examples/prometheus/) are loadable and fit
 * badgateway: rule-file shape as Prometheus validates it (promtool is not available here), metric
 * names only from the documented exporters or the bot's own registry, `instance` kept on every alert,
 * and the example config's triggers naming alerts that exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/config/index.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { REPO_ROOT } from '../support/config.js';
import { parseScrape } from '../metrics/scrape.js';

const DIR = join(REPO_ROOT, 'examples', 'prometheus');
const read = (file: string) => readFileSync(join(DIR, file), 'utf8');

interface Rule {
  alert?: string;
  record?: string;
  expr: unknown;
  for?: unknown;
  keep_firing_for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

const rules = parse(read('rules.yml')) as { groups: Array<{ name: string; interval?: string; rules: Rule[] }> };
const allRules = rules.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));

// Prometheus durations (model.ParseDuration): units in order, at least one.
const DURATION_RE = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const PROMQL_WORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** Metric names an expression reads: identifiers that are not functions, keywords, label names or strings. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
}

function balanced(expr: string): boolean {
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of text) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0 && (text.match(/"/g)?.length ?? 0) % 2 === 0;
}

/** The metrics the README documents for each exporter (backticked names in its tables). */
function documentedMetrics(): Set<string> {
  return new Set([...read('README.md').matchAll(/`((?:nginx|phpfpm|badgateway)_[a-z0-9_]+)`/g)].map((m) => m[1]!));
}

describe('examples/prometheus/rules.yml', () => {
  it('is a rule file Prometheus would load: groups of rules with alert, expr, for, labels, annotations', () => {
    expect(Object.keys(rules)).toEqual(['groups']);
    expect(rules.groups.length).toBeGreaterThan(0);
    expect(new Set(rules.groups.map((g) => g.name)).size).toBe(rules.groups.length);
    for (const group of rules.groups) {
      expect(
        Object.keys(group).every((k) => ['name', 'interval', 'rules', 'limit'].includes(k)),
        group.name,
      ).toBe(true);
      expect(typeof group.name).toBe('string');
      expect(Array.isArray(group.rules) && group.rules.length > 0, group.name).toBe(true);
    }
    const names = allRules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of allRules) {
      const where = `${rule.group}/${rule.alert}`;
      expect(
        Object.keys(rule).every((k) => ['group', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k)),
        where,
      ).toBe(true);
      expect(rule.alert, where).toMatch(LABEL_RE);
      expect(rule.record, where).toBeUndefined();
      expect(typeof rule.expr, where).toBe('string');
      const expr = (rule.expr as string).trim();
      expect(expr.length, where).toBeGreaterThan(0);
      expect(balanced(expr), `${where}: unbalanced brackets or quotes`).toBe(true);
      expect(expr, `${where}: an alert needs a comparison`).toMatch(/(?:>=?|<=?|==|!=)\s*\d/);
      expect(typeof rule.for, where).toBe('string');
      expect(rule.for as string, where).toMatch(DURATION_RE);
      expect((rule.for as string).length, where).toBeGreaterThan(0);
      const labels = rule.labels ?? {};
      for (const [k, v] of Object.entries(labels)) {
        expect(k, where).toMatch(LABEL_RE);
        expect(typeof v, `${where}: label ${k}`).toBe('string');
      }
      expect(['page', 'warning'], where).toContain(labels.severity);
      const annotations = rule.annotations ?? {};
      expect(typeof annotations.summary, where).toBe('string');
      expect(typeof annotations.description, where).toBe('string');
      for (const text of Object.values(annotations) as string[]) {
        expect((text.match(/\{\{/g) ?? []).length, where).toBe((text.match(/\}\}/g) ?? []).length);
      }
    }
  });

  it('keeps `instance` (badgateway maps it to the host), and templates only name labels the expression keeps', () => {
    for (const rule of allRules) {
      const expr = rule.expr as string;
      const groupings = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].map((m) =>
        m[1]!
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s && s !== 'le'),
      );
      // Without aggregation the exporters' own labels (plus the target's) survive.
      const kept = groupings.length ? new Set(groupings[groupings.length - 1]) : new Set(['instance', 'job', 'pool', 'scrape_uri', 'method', 'status']);
      for (const g of groupings) expect(g, `${rule.alert}: every aggregation keeps instance`).toContain('instance');
      expect(kept.has('instance'), rule.alert).toBe(true);
      for (const text of Object.values(rule.annotations ?? {}) as string[]) {
        for (const used of text.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)) expect(kept.has(used[1]!), `${rule.alert} uses $labels.${used[1]}`).toBe(true);
      }
    }
  });

  it('reads only the metrics the README documents, and the bot metrics exist in its registry', async () => {
    const documented = documentedMetrics();
    expect(documented.size).toBeGreaterThan(5);
    const families = new Set(parseScrape((await new Metrics().scrape()).body).families.map((f) => f.name));
    const used = new Set(allRules.flatMap((r) => metricNames(r.expr as string)));
    expect([...used].filter((m) => m.startsWith('nginx_'))).toEqual(expect.arrayContaining(['nginx_http_response_count_total', 'nginx_http_upstream_time_seconds_hist_bucket']));
    expect([...used].filter((m) => m.startsWith('phpfpm_')).sort()).toEqual(['phpfpm_active_processes', 'phpfpm_listen_queue', 'phpfpm_max_children_reached', 'phpfpm_total_processes', 'phpfpm_up']);
    for (const metric of used) {
      expect(documented.has(metric), `${metric} is used but not documented in examples/prometheus/README.md`).toBe(true);
      if (metric.startsWith('badgateway_')) expect(families.has(metric), `${metric} is not a badgateway metric`).toBe(true);
    }
    expect(metricNames('sum by (instance) (rate(x_total{status=~"5.."}[5m])) / on (instance) y > 0.5 and z_up == 0')).toEqual(['x_total', 'y', 'z_up']);
  });
});

describe('examples/prometheus/alertmanager.yml and prometheus.yml', () => {
  it('routes the rules to the webhook with a bearer token file and resolved notifications', () => {
    const am = parse(read('alertmanager.yml')) as any;
    const receivers = new Map<string, any>((am.receivers as any[]).map((r) => [r.name, r]));
    expect(receivers.has(am.route.receiver)).toBe(true);
    const route = (am.route.routes as any[]).find((r) => r.receiver === 'badgateway');
    expect(route.continue).toBe(true);
    expect(am.route.group_by).toEqual(expect.arrayContaining(['alertname', 'instance']));
    const hook = receivers.get('badgateway').webhook_configs[0];
    expect(hook.url).toMatch(/^http:\/\/[^/]+:\d+\/alerts\/alertmanager$/);
    expect(hook.send_resolved).toBe(true);
    expect(hook.http_config.authorization).toEqual({ type: 'Bearer', credentials_file: expect.stringMatching(/^\//) });
    // The matcher routes exactly the nginx/FPM alerts of rules.yml.
    const matcher = /alertname =~ "([^"]+)"/.exec(route.matchers[0])![1]!;
    const routed = allRules.filter((r) => new RegExp(`^(?:${matcher})$`).test(r.alert!)).map((r) => r.alert);
    expect(routed.sort()).toEqual(
      allRules
        .filter((r) => r.group !== 'badgateway')
        .map((r) => r.alert)
        .sort(),
    );
    const prometheus = parse(read('prometheus.yml')) as any;
    expect(prometheus.rule_files).toEqual(['rules.yml']);
    expect(prometheus.scrape_configs.map((s: any) => s.job_name)).toEqual(['nginxlog', 'php-fpm', 'badgateway']);
  });

  it('badgateway.example.yaml triggers on alerts that rules.yml defines', () => {
    const config = parseConfigText(readFileSync(join(REPO_ROOT, 'badgateway.example.yaml'), 'utf8'), join(REPO_ROOT, 'x.yaml'), {});
    const defined = new Set(allRules.map((r) => r.alert));
    const triggered = config.alerts!.triggers.flatMap((t) => t.alertnames);
    expect(triggered.length).toBeGreaterThan(0);
    for (const name of triggered) expect(defined.has(name), name).toBe(true);
    expect(config.alerts).toMatchObject({ tokenEnv: 'BADGATEWAY_ALERT_TOKEN', resolvedWindowMs: 5 * 60_000 });
    expect(config.alerts!.triggers[1]).toMatchObject({ channel: 'C0123456789', hostLabel: 'instance', cooldownMs: 3600_000, windowMs: 15 * 60_000 });
  });
});
