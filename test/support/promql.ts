/**
 * PromQL of the alert rules and the Grafana dashboard: the expressions, the metric names they read
 * (with the Prometheus project's own grammar, @prometheus-io/lezer-promql), and promtool runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { stringify } from 'yaml';

/** Grafana's variables replaced by values Prometheus accepts, so a panel's query parses as PromQL. */
const GRAFANA_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '5m',
  __interval: '1m',
  __range: '1h',
  namespace: 'node-aggregation',
};

export function expandGrafanaVariables(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => GRAFANA_VARIABLES[name] ?? whole);
}

export interface DashboardQuery {
  where: string;
  /** PromQL, Grafana variables expanded. */
  expr: string;
}

interface Dashboard {
  panels?: { id?: number; title?: string; targets?: { refId?: string; expr?: string }[] }[];
  templating?: { list?: { name?: string; type?: string; query?: string | { query?: string } }[] };
}

/** Every PromQL query of a dashboard: panel targets, and the metric of label_values() variables. */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of dashboard.panels ?? []) {
    for (const target of panel.targets ?? []) {
      queries.push({
        where: `panel "${panel.title ?? panel.id ?? '?'}" target ${target.refId ?? '?'}`,
        expr: expandGrafanaVariables(target.expr ?? ''),
      });
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const text = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    // label_values(<series selector>, <label>) is Grafana's; its first argument is PromQL.
    const selector = /^label_values\((.*),\s*\w+\)$/.exec(text.trim())?.[1] ?? text;
    queries.push({ where: `variable $${variable.name ?? '?'}`, expr: expandGrafanaVariables(selector) });
  }
  return queries;
}

/** Syntax errors the PromQL grammar finds, as positions in the expression. */
export function syntaxErrors(expr: string): string[] {
  if (expr.trim() === '') return ['empty expression'];
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(`syntax error at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 10), node.from + 10))}`);
    },
  });
  return errors;
}

/** Metric names an expression selects (the name of each vector selector). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.name === 'VectorSelector') {
        const identifier = node.node.getChild('Identifier');
        if (identifier) names.add(expr.slice(identifier.from, identifier.to));
      }
    },
  });
  return [...names];
}

/** Metric families declared in a Prometheus text exposition (# TYPE lines), with their type. */
export function exposedFamilies(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1] ?? '', match[2] ?? '');
  return families;
}

/** Whether a series name belongs to one of the families (histograms and summaries add suffixes). */
export function isExposed(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const base = name.replace(/_(bucket|count|sum)$/, '');
  const type = families.get(base);
  return base !== name && (type === 'histogram' || type === 'summary') && !(name.endsWith('_bucket') && type === 'summary');
}

export interface ToolRun {
  status: number | null;
  output: string;
}

export function promtool(args: string[], options: { cwd?: string; input?: string } = {}): ToolRun {
  const run = spawnSync('promtool', args, { cwd: options.cwd, input: options.input, encoding: 'utf8', timeout: 60000 });
  if (run.error) throw new Error(`promtool could not run (is the Debian package prometheus installed?): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Runs `promtool test rules` on a unit-test file against the given rule groups, in a scratch folder. */
export function promtoolTestRules(groups: unknown, unitTests: string): ToolRun {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nodeagg-rules-'));
  try {
    writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups }));
    writeFileSync(path.join(dir, 'alerts.test.yaml'), unitTests);
    return promtool(['test', 'rules', 'alerts.test.yaml'], { cwd: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `promtool check rules` on rule groups, in a scratch folder. */
export function promtoolCheckRules(groups: unknown): ToolRun {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nodeagg-rules-'));
  try {
    writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups }));
    return promtool(['check', 'rules', 'rules.yaml'], { cwd: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
