/**
 * Report → chat Message: the verdict first (cause in words, confidence, 2-3 lines of evidence, the
 * fix), then compact sections (5xx with a per-minute sparkline, upstreams, FPM pool, slow scripts,
 * findings), then the buttons. Also the detailed single-section answers of `/502 logs|fpm|slowlog`
 * and the raw evidence behind "Show evidence". Every report is scrubbed before a string is taken.
 */
import { describeWindow } from '../config/window.js';
import type { LatencySummary } from '../analyze/access/index.js';
import { CAUSE_WORDS, secondaryCauses, verdictLine, type Cause } from '../diagnose/index.js';
import { verdictCell } from './fleet.js';
import type { HostTriage, TriageResult } from '../triage/types.js';
import { bold, code, esc, fallbackOf, oneLine, pre, type Message, type MessageBlock, type MessageButton } from './message.js';
import { scrubDeep } from './scrub.js';
import { sparkline, uniqueFindings } from './text.js';
import type { Report } from '../triage/report.js';
import { num, percent, secs } from '../analyze/numbers.js';

/** Each cause id in words (defined with the causes, in src/diagnose). */
export { CAUSE_WORDS };

export const ACTION_EVIDENCE = 'bg:evidence';
export const ACTION_RUNBOOK = 'bg:runbook';
export const ACTION_RELOAD = 'bg:reload';

export interface ChatOptions {
  /** Key of the stored result the buttons refer to; no buttons without it. */
  resultId?: string;
  /** Slack user id (or a name) of who asked. */
  requestedBy?: string;
  /** Whether runbooks are enabled (no Start runbook button otherwise); default true. */
  runbooks?: boolean;
}

/** `r=<result id>;h=<host or *>`: what the buttons carry (well under Slack's 2000 characters). */
export function buttonValue(resultId: string, host: string | null): string {
  return `r=${resultId};h=${host ?? '*'}`;
}

export function parseButtonValue(value: unknown): { resultId: string; host: string | null } | null {
  if (typeof value !== 'string') return null;
  const match = /^r=([A-Za-z0-9]{4,40});h=([A-Za-z0-9._*-]{1,63})$/.exec(value);
  if (!match) return null;
  return { resultId: match[1]!, host: match[2] === '*' ? null : match[2]! };
}

export function confidenceWords(confidence: number): string {
  const pct = `${Math.round(confidence * 100)}%`;
  return confidence >= 0.8 ? `${pct} (high)` : confidence >= 0.5 ? `${pct} (medium)` : `${pct} (low)`;
}

function latency(s: LatencySummary): string {
  return s.count === 0 ? 'no values' : `p50 ${secs(s.p50)} · p95 ${secs(s.p95)} · p99 ${secs(s.p99)} · max ${secs(s.max)}`;
}

function time(ms: number | null): string {
  if (ms === null) return '?';
  return `${new Date(ms).toISOString().slice(11, 16)}Z`;
}

function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function verdictBlocks(report: Report): MessageBlock[] {
  const top = report.diagnosis.causes[0];
  const blocks: MessageBlock[] = [];
  if (!top) {
    const notes = report.diagnosis.notes.map((n) => `• ${esc(n)}`).join('\n');
    const verdict = esc(verdictLine(report.diagnosis) ?? 'no cause named');
    const needs = report.diagnosis.verdict.needs ? `\n${bold('Needed:')} ${esc(report.diagnosis.verdict.needs)}` : '';
    blocks.push({ kind: 'section', text: `${bold('Verdict:')} ${verdict}${needs}${notes ? `\n${notes}` : ''}` });
    return blocks;
  }
  blocks.push({ kind: 'section', text: verdictText(top) });
  return blocks;
}

function verdictText(cause: Cause): string {
  const lines = [`${bold('Verdict:')} ${esc(CAUSE_WORDS[cause.id])} (${code(cause.id)}), confidence ${bold(confidenceWords(cause.confidence))}`, esc(cause.summary)];
  for (const item of cause.evidence.slice(0, 3)) lines.push(`• ${code(item.source)} ${esc(oneLine(item.text, 400))}`);
  let fix = `${bold('Fix:')} ${esc(cause.remedy.text)}`;
  if (cause.remedy.setting && (cause.remedy.current || cause.remedy.suggested)) {
    fix += `\n${code(cause.remedy.setting)}: ${code(cause.remedy.current ?? '?')} → ${code(cause.remedy.suggested ?? 'see above')}`;
  }
  lines.push(fix);
  for (const confirm of (cause.toConfirm ?? []).slice(0, 2)) lines.push(`_To confirm:_ ${esc(confirm)}`);
  return lines.join('\n');
}

function failuresBlock(report: Report): MessageBlock | null {
  const a = report.access;
  if (!a) return null;
  const lines = [`${bold('5xx')}  502 × ${num(a.count502)} · 504 × ${num(a.count504)} · 5xx ${num(a.count5xx)} of ${num(a.requests)} requests (${percent(a.rate5xx)})`];
  const recent = a.timeline.slice(-60);
  if (recent.length > 0) {
    lines.push(`per minute (${recent.length} min)  requests ${code(sparkline(recent.map((b) => b.requests)))}  502/504 ${code(sparkline(recent.map((b) => b.count502 + b.count504)))}`);
  }
  if (a.worstMinute) lines.push(`worst minute ${time(a.worstMinute.minute)}: 502 × ${a.worstMinute.count502}, 504 × ${a.worstMinute.count504}`);
  lines.push(`request time ${latency(a.requestTime)}`);
  return { kind: 'section', text: lines.join('\n') };
}

function upstreamsBlock(report: Report, limit: number): MessageBlock | null {
  const ups = report.access?.upstreams.slice(0, limit) ?? [];
  if (!ups.length) return null;
  const rows = ups.map((u) => `${cell(u.addr, 40)} ${String(u.requests).padStart(7)} req ${String(u.errors).padStart(6)} err  p95 ${secs(u.responseTime.p95)}`);
  return { kind: 'section', text: `${bold('Upstreams')}\n${pre(rows)}` };
}

function fpmEvents(report: Report): string | null {
  const log = report.fpm.log;
  if (!log) return null;
  const events = Object.entries(log.events)
    .filter(([kind]) => !['tracing', 'child_started', 'other'].includes(kind))
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([kind, n]) => `${kind} × ${n}`);
  return events.length ? events.join(', ') : 'no events in the window';
}

function fpmStatusLine(report: Report): string | null {
  const s = report.fpm.status;
  if (s) {
    return `pool ${code(s.pool ?? '?')} (${esc(s.processManager ?? '?')}): ${s.activeProcesses ?? '?'} active / ${s.totalProcesses ?? '?'} total, ${s.idleProcesses ?? '?'} idle, listen queue ${s.listenQueue ?? '?'}${s.listenQueueMeaningful === false ? ' (unix socket: always 0)' : ''}, max children reached ${s.maxChildrenReached ?? '?'}, slow requests ${s.slowRequests ?? '?'}`;
  }
  if (report.fpm.statusError) return `status page not available: ${esc(oneLine(report.fpm.statusError, 300))}`;
  return null;
}

function fpmBlock(report: Report): MessageBlock | null {
  const status = fpmStatusLine(report);
  const events = fpmEvents(report);
  if (!status && !events) return null;
  return { kind: 'section', text: [bold('PHP-FPM'), status, events ? `log: ${esc(events)}` : null].filter(Boolean).join('\n') };
}

function slowBlock(report: Report, limit: number): MessageBlock | null {
  const slow = report.fpm.slow;
  if (!slow || slow.inWindow === 0) return null;
  const lines = [`${bold('Slow scripts')} (${slow.inWindow} slow-log entries)`];
  for (const s of slow.byScript.slice(0, limit)) lines.push(`• ${code(s.script)} × ${s.count}`);
  const frames = slow.byUserFrame.length ? slow.byUserFrame : slow.byTopFrame;
  for (const f of frames.slice(0, limit)) lines.push(`  at ${code(f.frame)} × ${f.count}`);
  return { kind: 'section', text: lines.join('\n') };
}

function findingsBlock(report: Report, limit: number): MessageBlock | null {
  if (!report.findings.length) return null;
  const icon = { critical: '🔴', warn: '🟠', info: '⚪' } as const;
  const lines = [bold('Config findings')];
  const findings = uniqueFindings(report.findings);
  for (const f of findings.slice(0, limit)) lines.push(`${icon[f.severity]} ${esc(oneLine(f.summary, 300))}`);
  if (findings.length > limit) lines.push(`_…and ${findings.length - limit} more_`);
  return { kind: 'section', text: lines.join('\n') };
}

function othersBlock(report: Report): MessageBlock | null {
  const { alsoHolds, candidates } = secondaryCauses(report.diagnosis);
  const notes = report.diagnosis.causes.length ? report.diagnosis.notes : [];
  if (!alsoHolds.length && !candidates.length && !notes.length) return null;
  const lines: string[] = [];
  if (alsoHolds.length) {
    lines.push(bold('Also holds'));
    for (const c of alsoHolds) {
      lines.push(`• ${code(c.id)} ${confidenceWords(c.confidence)}${c.explains ? `, ${c.explains} failures` : ''}: ${esc(oneLine(c.summary, 300))}`, `   _Fix:_ ${esc(oneLine(c.remedy.text, 300))}`);
    }
  }
  if (candidates.length) {
    lines.push(bold('Other candidates'));
    for (const c of candidates) lines.push(`• ${code(c.id)} ${confidenceWords(c.confidence)}: ${esc(oneLine(c.summary, 300))}`);
  }
  for (const n of notes) lines.push(`_Note:_ ${esc(oneLine(n, 400))}`);
  return { kind: 'section', text: lines.join('\n') };
}

function sourcesContext(report: Report, extra: string[] = []): MessageBlock {
  const w = report.window;
  const long = w.from !== null && w.to !== null && w.to - w.from >= 86_400_000;
  const at = (ms: number | null) => (long && ms !== null ? `${new Date(ms).toISOString().slice(5, 10)} ${time(ms)}` : time(ms));
  const window = w.from === null && w.to === null ? 'whole files' : `${at(w.from)}–${at(w.to)} (${describeWindow(w)})`;
  const bad = report.sources.filter((s) => s.status !== 'read').map((s) => `${s.source} ${s.status}`);
  const read = report.sources.filter((s) => s.status === 'read').map((s) => s.source);
  const parts = [`window ${window}`, `read: ${read.join(', ') || 'nothing'}`];
  if (bad.length) parts.push(`not read: ${bad.join(', ')}`);
  return { kind: 'context', text: esc([...parts, ...extra].join(' · ')) };
}

/** Whether a PHP-FPM master was seen running on the host: its config was read from it, or its status page answered. */
function fpmRuns(report: Report | null): boolean {
  // A config read from the default path (no master runs) is no running PHP-FPM to reload.
  return report !== null && (report.fpm.status !== null || report.sources.some((s) => s.source === 'fpmConfig' && s.masterPid !== undefined));
}

/**
 * The buttons under a triage, only those that apply to the hosts as they are: a reload needs a running
 * PHP-FPM master; the runbook needs something to walk (a running FPM, or a named cause such as fpm_down).
 */
function buttons(options: ChatOptions, host: string | null, reports: readonly (Report | null)[]): MessageBlock[] {
  if (!options.resultId) return [];
  const value = buttonValue(options.resultId, host);
  const list: MessageButton[] = [{ action: ACTION_EVIDENCE, label: 'Show evidence', value, style: 'primary' }];
  const walkable = reports.some((r) => fpmRuns(r) || (r?.diagnosis.causes.length ?? 0) > 0);
  if (options.runbooks !== false && walkable) list.push({ action: ACTION_RUNBOOK, label: 'Start runbook', value });
  if (reports.some(fpmRuns)) list.push({ action: ACTION_RELOAD, label: 'Reload php-fpm', value, style: 'danger' });
  return [{ kind: 'actions', buttons: list }];
}

/** The worst-first host table, cells bounded so that rows (not a long error) fill the section. */
function fleetTable(result: TriageResult, maxRows: number): string[] {
  const rows = result.rows
    .slice(0, maxRows)
    .map((r) => [
      r.host,
      r.requests === null ? '-' : String(r.requests),
      r.rate5xx === null ? '-' : percent(r.rate5xx),
      r.count502 === null ? '-' : String(r.count502),
      r.count504 === null ? '-' : String(r.count504),
      r.error ? `ERROR ${oneLine(r.error, 50)}` : r.topCause ? `${r.topCause} ${Math.round((r.confidence ?? 0) * 100)}%` : verdictCell(r),
    ]);
  const header = ['HOST', 'REQ', '5XX', '502', '504', 'TOP CAUSE'];
  const widths = header.map((h, i) => (i === header.length - 1 ? 0 : Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [line(header), ...rows.map(line)];
  if (result.rows.length > maxRows) lines.push(`…and ${result.rows.length - maxRows} more hosts`);
  return lines;
}

function headline(host: HostTriage): string {
  if (!host.report) return `${host.host}: triage failed`;
  const top = host.report.diagnosis.causes[0];
  return `${host.host}: ${top ? CAUSE_WORDS[top.id] : verdictLine(host.report.diagnosis)}`;
}

/** The sections of one host's report, verdict first. */
function hostBlocks(host: HostTriage): MessageBlock[] {
  if (!host.report) {
    return [{ kind: 'section', text: `${bold('Could not triage')} ${code(host.host)}: ${esc(oneLine(host.error ?? 'unknown error', 1000))}` }];
  }
  const r = host.report;
  const blocks: MessageBlock[] = [...verdictBlocks(r)];
  const compact = [failuresBlock(r), upstreamsBlock(r, 3), fpmBlock(r), slowBlock(r, 3), findingsBlock(r, 5), othersBlock(r)].filter((b): b is MessageBlock => b !== null);
  if (compact.length) blocks.push({ kind: 'divider' }, ...compact);
  return blocks;
}

/** The finished triage message: one host's verdict, or the worst-first table then the worst host. */
export function triageMessage(unscrubbed: TriageResult, options: ChatOptions = {}): Message {
  const result = scrubDeep(unscrubbed);
  const blocks: MessageBlock[] = [];
  const took = `took ${(result.durationMs / 1000).toFixed(1)} s`;
  const who = options.requestedBy ? ` · asked by ${options.requestedBy}` : '';
  if (result.hosts.length === 1) {
    const host = result.hosts[0]!;
    blocks.push({ kind: 'header', text: headline(host) });
    blocks.push(...hostBlocks(host));
    blocks.push(host.report ? withRequester(sourcesContext(host.report, [took]), who) : { kind: 'context', text: `${esc(took)}${who}` });
    blocks.push(...buttons(options, host.host, [host.report]));
  } else {
    const failing = result.rows.filter((r) => r.error || (r.verdict !== 'healthy' && r.verdict !== 'no_traffic')).length;
    blocks.push({ kind: 'header', text: `${result.target}: ${result.hosts.length} hosts, ${failing} need attention` });
    blocks.push({ kind: 'section', text: `${bold('Worst first')} (${esc(describeWindow(result.window))})\n${pre(fleetTable(result, 25))}` });
    const worst = result.hosts.find((h) => h.report) ?? result.hosts[0];
    if (worst) {
      blocks.push({ kind: 'divider' });
      blocks.push({ kind: 'section', text: `${bold('Worst host:')} ${code(worst.host)}: ${esc(headline(worst).slice(worst.host.length + 2))}` });
      blocks.push(...hostBlocks(worst));
    }
    blocks.push({ kind: 'context', text: `${esc(`${took} · \`/502 triage HOST\` for any other host's details`)}${who}` });
    blocks.push(
      ...buttons(
        options,
        null,
        result.hosts.map((h) => h.report),
      ),
    );
  }
  return { text: fallbackOf(blocks), blocks };
}

function withRequester(block: MessageBlock, who: string): MessageBlock {
  return block.kind === 'context' ? { ...block, text: `${block.text}${who}` } : block;
}

export type SectionKind = 'logs' | 'fpm' | 'slowlog';

/** `/502 logs|fpm|slowlog HOST`: the matching part of one host's report, in detail. */
export function sectionMessage(kind: SectionKind, unscrubbed: TriageResult, options: ChatOptions = {}): Message {
  const result = scrubDeep(unscrubbed);
  const host = result.hosts[0];
  const blocks: MessageBlock[] = [];
  const title = { logs: 'access log', fpm: 'PHP-FPM pool', slowlog: 'slow log' }[kind];
  if (!host?.report) {
    blocks.push({ kind: 'header', text: `${host?.host ?? result.target}: ${title} not read` });
    blocks.push({ kind: 'section', text: `${bold('Could not read it:')} ${esc(oneLine(host?.error ?? 'no host', 1000))}` });
    return { text: fallbackOf(blocks), blocks };
  }
  const r = host.report;
  blocks.push({ kind: 'header', text: `${host.host}: ${title}` });
  if (kind === 'logs') blocks.push(...accessDetail(r));
  if (kind === 'fpm') blocks.push(...fpmDetail(r));
  if (kind === 'slowlog') blocks.push(...slowDetail(r));
  const top = r.diagnosis.causes[0];
  if (top) blocks.push({ kind: 'context', text: `${esc(`verdict of the full triage: ${top.id}, confidence ${confidenceWords(top.confidence)} · /502 triage ${host.host} for the whole picture`)}` });
  blocks.push(withRequester(sourcesContext(r), options.requestedBy ? ` · asked by ${options.requestedBy}` : ''));
  blocks.push(...(options.resultId ? [{ kind: 'actions', buttons: [{ action: ACTION_EVIDENCE, label: 'Show evidence', value: buttonValue(options.resultId, host.host) }] } as MessageBlock] : []));
  return { text: fallbackOf(blocks), blocks };
}

function sourceNote(r: Report, key: Report['sources'][number]['source']): string {
  const s = r.sources.find((x) => x.source === key);
  if (!s) return 'not read';
  return `${s.status}${s.path ? ` (${s.path})` : ''}${s.detail ? `: ${s.detail}` : ''}`;
}

function accessDetail(r: Report): MessageBlock[] {
  const a = r.access;
  if (!a) return [{ kind: 'section', text: `No access log was read: ${esc(sourceNote(r, 'access'))}` }];
  const blocks: MessageBlock[] = [];
  const statuses = Object.entries(a.statuses)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 10)
    .map(([s, n]) => `${s} × ${num(n)}`)
    .join(', ');
  const lines = [
    `${bold('Requests')} ${num(a.requests)} · 5xx ${num(a.count5xx)} (${percent(a.rate5xx)}) · 502 × ${num(a.count502)} · 504 × ${num(a.count504)}${a.unparsed ? ` · ${num(a.unparsed)} lines unparsed` : ''}`,
    `statuses: ${statuses || 'none'}`,
    `request time   ${latency(a.requestTime)}`,
    `upstream time  ${latency(a.upstreamResponseTime)}`,
    `connect time   ${latency(a.upstreamConnectTime)}`,
  ];
  if (a.count5xx) {
    const b = a.errorTimeBuckets;
    lines.push(`5xx by request time: <1s ${b.lt1} · 1-5s ${b.s1to5} · 5-10s ${b.s5to10} · 10-30s ${b.s10to30} · >30s ${b.gt30}`);
  }
  if (a.peakConcurrency !== null) lines.push(`peak concurrency at the upstream ~${a.peakConcurrency.toFixed(1)}`);
  if (a.retriedRequests) lines.push(`${num(a.retriedRequests)} of ${num(a.upstreamRequests)} upstream requests needed another attempt`);
  blocks.push({ kind: 'section', text: lines.join('\n') });
  const recent = a.timeline.slice(-60);
  if (recent.length) {
    const first = recent[0]!;
    const last = recent[recent.length - 1]!;
    blocks.push({
      kind: 'section',
      text: `${bold(`Per minute`)} ${time(first.minute)}–${time(last.minute)}\n${pre([
        `requests ${sparkline(recent.map((b) => b.requests))}`,
        `502/504  ${sparkline(recent.map((b) => b.count502 + b.count504))}`,
      ])}${a.worstMinute ? `worst minute ${time(a.worstMinute.minute)}: 502 × ${a.worstMinute.count502}, 504 × ${a.worstMinute.count504}` : ''}`,
    });
  }
  const ups = upstreamsBlock(r, 10);
  if (ups) blocks.push(ups);
  if (a.topFailingUris.length) {
    const rows = a.topFailingUris.slice(0, 10).map((u) => `${cell(u.uri, 50)} 5xx ${String(u.count5xx).padStart(6)}  502 ${u.count502}  504 ${u.count504}`);
    blocks.push({ kind: 'section', text: `${bold('Top failing URIs')}\n${pre(rows)}` });
  }
  const e = r.errors;
  if (e?.signatures.length) {
    const rows = e.signatures.slice(0, 8).map((s) => `${cell(s.kind, 26)} ${String(s.count).padStart(6)}  ${s.status ?? '-'}  ${time(s.firstSeen)}–${time(s.lastSeen)}  ${s.upstreams[0] ?? ''}`);
    blocks.push({ kind: 'section', text: `${bold('Error log')} ${e.inWindow} entries in the window\n${pre(rows)}` });
  }
  return blocks;
}

function fpmDetail(r: Report): MessageBlock[] {
  const blocks: MessageBlock[] = [];
  const s = r.fpm.status;
  if (s) {
    const states = Object.entries(s.processStates)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const lines = [
      `${bold('Pool')} ${code(s.pool ?? '?')} · pm ${esc(s.processManager ?? '?')} · busy ${s.busyRatio === null ? '?' : percent(s.busyRatio)}`,
      `processes: ${s.activeProcesses ?? '?'} active / ${s.totalProcesses ?? '?'} total, ${s.idleProcesses ?? '?'} idle, max active ${s.maxActiveProcesses ?? '?'}`,
      `listen queue ${s.listenQueue ?? '?'} (max ${s.maxListenQueue ?? '?'}, len ${s.listenQueueLen ?? '?'})${s.listenQueueMeaningful === false ? ' (unix socket: always 0)' : ''}`,
      `accepted conn ${s.acceptedConn ?? '?'} · max children reached ${s.maxChildrenReached ?? '?'} · slow requests ${s.slowRequests ?? '?'}`,
    ];
    if (states) lines.push(`process states: ${esc(states)}`);
    for (const w of s.warnings.slice(0, 3)) lines.push(`_${esc(oneLine(w, 200))}_`);
    blocks.push({ kind: 'section', text: lines.join('\n') });
    const running = s.processes.filter((p) => p.state && p.state !== 'Idle').slice(0, 8);
    if (running.length) {
      const rows = running.map(
        (p) => `${String(p.pid ?? '?').padStart(7)} ${cell(p.state ?? '?', 10)} ${((p.requestDurationUs ?? 0) / 1e6).toFixed(1).padStart(7)}s  ${p.requestMethod ?? ''} ${p.requestUri ?? ''}`,
      );
      blocks.push({ kind: 'section', text: `${bold('Busy workers')}\n${pre(rows)}` });
    }
  } else {
    blocks.push({ kind: 'section', text: `${bold('Status page')} not available: ${esc(r.fpm.statusError ?? sourceNote(r, 'fpmStatus'))}` });
  }
  const log = r.fpm.log;
  if (log) {
    const events = Object.entries(log.events)
      .filter(([kind]) => !['tracing', 'child_started', 'other'].includes(kind))
      .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
    const rows = events.map(([kind, n]) => {
      const t = log.timeline[kind as keyof typeof log.timeline];
      return `${cell(kind, 22)} ${String(n).padStart(6)}  ${t ? `${time(t.first)}–${time(t.last)}` : ''}`;
    });
    const lines = [`${bold('FPM log')} ${log.inWindow} events in the window${log.maxChildrenSetting !== undefined ? ` · pm.max_children ${log.maxChildrenSetting}` : ''}`];
    lines.push(rows.length ? pre(rows) : 'no events in the window');
    if (log.signals.length) lines.push(`signals: ${esc(log.signals.map((x) => `${x.name} × ${x.count}`).join(', '))}`);
    for (const t of log.terminations.slice(0, 3)) lines.push(`terminated after ${t.seconds === null ? '?' : t.seconds.toFixed(1)}s: ${code(t.script ?? '?')}`);
    blocks.push({ kind: 'section', text: lines.join('\n') });
  } else {
    blocks.push({ kind: 'section', text: `${bold('FPM log')} not read: ${esc(sourceNote(r, 'fpmLog'))}` });
  }
  const relevant = uniqueFindings(r.findings).filter((f) => /max_children|pm_|backlog|status_page|slowlog|timeout/.test(f.id));
  if (relevant.length) {
    blocks.push({ kind: 'section', text: [bold('Config findings'), ...relevant.slice(0, 6).map((f) => `• ${esc(oneLine(f.summary, 300))}`)].join('\n') });
  }
  return blocks;
}

function slowDetail(r: Report): MessageBlock[] {
  const slow = r.fpm.slow;
  if (!slow) return [{ kind: 'section', text: `${bold('Slow log')} not read: ${esc(sourceNote(r, 'slowLog'))}` }];
  if (slow.inWindow === 0) return [{ kind: 'section', text: `${bold('Slow log')}: no slow requests in the window (${slow.entries} entries in the file).` }];
  const blocks: MessageBlock[] = [];
  blocks.push({
    kind: 'section',
    text: `${bold('Slow log')} ${slow.inWindow} entries in the window, ${time(slow.firstSeen)}–${time(slow.lastSeen)}${slow.dumpFailed ? ` · ${slow.dumpFailed} dumps failed` : ''}`,
  });
  const table = (title: string, rows: { count: number }[], key: (row: never) => string) =>
    rows.length ? { kind: 'section' as const, text: `${bold(title)}\n${pre(rows.slice(0, 10).map((x) => `${String(x.count).padStart(6)}  ${key(x as never)}`))}` } : null;
  for (const block of [
    table('Top scripts', slow.byScript, (x: { script: string }) => x.script),
    table('Where the application called (first frame outside PHP internals)', slow.byUserFrame, (x: { frame: string }) => x.frame),
    table('What the worker was doing (innermost frame)', slow.byTopFrame, (x: { frame: string }) => x.frame),
  ]) {
    if (block) blocks.push(block);
  }
  return blocks;
}

/**
 * The raw lines behind the verdict(s): per host, each cause's evidence with its sample lines, then
 * the error-log and FPM samples. Plain text (scrubbed), for a thread reply or a file.
 */
export function evidenceText(unscrubbed: TriageResult, onlyHost: string | null = null): string {
  const result = scrubDeep(unscrubbed);
  const out: string[] = [];
  for (const host of result.hosts) {
    if (onlyHost && host.host !== onlyHost) continue;
    out.push(`==== ${host.host} ====`);
    if (!host.report) {
      out.push(`could not triage: ${host.error ?? '?'}`, '');
      continue;
    }
    const r = host.report;
    for (const cause of r.diagnosis.causes) {
      out.push(`# ${cause.id} (confidence ${cause.confidence.toFixed(2)}): ${cause.summary}`);
      for (const item of cause.evidence) {
        out.push(`- [${item.source}] ${item.text}`);
        for (const sample of item.samples ?? []) out.push(...sample.split('\n').map((l) => `    ${l}`));
      }
    }
    const signatures = r.errors?.signatures ?? [];
    if (signatures.length) out.push('', '# error.log samples');
    for (const s of signatures.slice(0, 10)) {
      out.push(`- ${s.kind} × ${s.count}`);
      for (const sample of s.samples.slice(0, 3)) out.push(`    ${sample}`);
    }
    const fpmSamples = Object.entries(r.fpm.log?.samples ?? {}).filter(([kind]) => kind !== 'tracing');
    if (fpmSamples.length) out.push('', '# fpm.log samples');
    for (const [kind, samples] of fpmSamples) {
      out.push(`- ${kind}`);
      for (const sample of (samples ?? []).slice(0, 3)) out.push(`    ${sample}`);
    }
    if (r.fpm.slow?.samples.length) {
      out.push('', '# slow.log samples');
      for (const sample of r.fpm.slow.samples.slice(0, 3)) out.push(...sample.split('\n').map((l) => `    ${l}`));
    }
    if (r.access?.unparsedSamples.length) {
      out.push('', `# access.log lines that did not match the log_format (${r.access.unparsed})`);
      for (const sample of r.access.unparsedSamples) out.push(`    ${sample}`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
