/**
 * Running a step's check: an analyzer view of the session's triage report, or one read-only
 * catalog command on the host over the executor (never anything else: the catalog decides what
 * can run, and a check may not name a mutating command; the loader refuses that at start).
 */
import { shellJoin, type Catalog } from '../catalog/index.js';
import type { Host } from '../config/index.js';
import { errorMessage } from '../errors.js';
import { argvAsRun, type Executor } from '../exec/index.js';
import type { Report } from '../triage/report.js';
import { scrub } from '../report/scrub.js';
import type { StepCheck } from './format.js';
import type { CheckResult } from './session.js';
import { renderView } from './views.js';

/** Output kept per check in the session (and the timeline file). */
export const MAX_CHECK_OUTPUT = 12_000;

export interface CheckContext {
  host: Host;
  report: Report | null;
  catalog: Catalog;
  executor: Executor;
  signal?: AbortSignal;
  now?: () => number;
}

export function checkLabel(check: StepCheck): string {
  if (check.kind === 'view') return `view ${check.view}`;
  const params = Object.entries(check.params).map(([k, v]) => `${k}=${v}`);
  return [check.command, ...params].join(' ');
}

/** Keeps the end of log output (the newest lines) and the start of anything else. */
function capOutput(text: string, keepEnd: boolean): string {
  if (text.length <= MAX_CHECK_OUTPUT) return text;
  if (keepEnd) {
    const tail = text.slice(-MAX_CHECK_OUTPUT);
    const cutAt = tail.indexOf('\n');
    return `[… ${text.length - tail.length + cutAt + 1} earlier characters cut]\n${tail.slice(cutAt + 1)}`;
  }
  const head = text.slice(0, MAX_CHECK_OUTPUT);
  return `${head.slice(0, head.lastIndexOf('\n') + 1 || head.length)}[… ${text.length - head.length} more characters cut]`;
}

/** The host with the log paths the triage discovered, for catalog commands that take a `source`. */
export function hostWithDiscoveredSources(host: Host, report: Report | null): Host {
  if (!report) return host;
  const path = (key: 'access' | 'error' | 'fpmLog' | 'slowLog') => report.sources.find((s) => s.source === key && s.path && s.status !== 'not given')?.path ?? undefined;
  const discovered = { accessLog: path('access'), errorLog: path('error'), fpmLog: path('fpmLog'), slowLog: path('slowLog') };
  const sources = { ...host.sources };
  for (const [key, value] of Object.entries(discovered) as Array<[keyof typeof discovered, string | undefined]>) {
    if (!sources[key] && value && /^\/[^\0\n\r]*$/.test(value)) sources[key] = value;
  }
  return { ...host, sources };
}

export async function runCheck(check: StepCheck, ctx: CheckContext): Promise<CheckResult> {
  const now = ctx.now ?? Date.now;
  const started = now();
  const label = checkLabel(check);
  if (check.kind === 'view') {
    if (!ctx.report) {
      return { kind: 'view', label, ok: false, summary: 'no triage report for this host', output: 'no triage report for this host', command: null, exitCode: null, at: started, ms: 0 };
    }
    const view = renderView(check.view, ctx.report);
    return { kind: 'view', label, ok: view.ok, summary: view.summary, output: capOutput(view.output, false), command: null, exitCode: null, at: started, ms: now() - started };
  }
  const host = hostWithDiscoveredSources(ctx.host, ctx.report);
  let shown: string | null = null;
  try {
    const rendered = ctx.catalog.render(check.command, host, check.params);
    if (rendered.mutating) throw new Error(`${check.command} changes the host; a check only reads`);
    shown = shellJoin(argvAsRun(host, rendered));
    const result = await ctx.executor.run(host, rendered, ctx.signal ? { signal: ctx.signal } : {});
    const stdout = result.stdout.toString('utf8');
    const stderr = result.stderr.trim();
    const ok = result.code === 0 && !result.timedOut;
    const body = scrub([stdout.trimEnd(), !ok && stderr ? `[stderr] ${stderr}` : ''].filter(Boolean).join('\n'));
    const lines = stdout.split('\n').filter((l) => l.trim() !== '').length;
    const summary = result.timedOut
      ? `timed out after ${Math.round(rendered.timeoutMs / 1000)} s`
      : ok
        ? `${lines} line${lines === 1 ? '' : 's'} of output${result.truncated ? ' (cut at the output cap)' : ''}`
        : `failed (exit ${result.code ?? result.signal ?? '?'})${stderr ? `: ${scrub(stderr.split('\n')[0]!.slice(0, 200))}` : ''}`;
    return {
      kind: 'command',
      label,
      ok,
      summary,
      output: capOutput(body || '(no output)', check.command.startsWith('log.')),
      command: shown,
      exitCode: result.code,
      at: started,
      ms: now() - started,
    };
  } catch (err) {
    const message = scrub(errorMessage(err));
    return { kind: 'command', label, ok: false, summary: `could not run: ${message.slice(0, 300)}`, output: message, command: shown, exitCode: null, at: started, ms: now() - started };
  }
}
