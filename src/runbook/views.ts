/**
 * Analyzer views of a triage report, as plain text: what a runbook step's `check: { view: ... }`
 * shows, what `when.check.matches` looks at, and what the postmortem timeline keeps. Pure.
 */
import { openFileParts, uniqueFindings } from '../report/text.js';
import type { LatencySummary } from '../analyze/access/index.js';
import { CAUSE_WORDS } from '../report/chat.js';
import type { Report } from '../triage/report.js';
import { scrubDeep } from '../report/scrub.js';
import { sparkline } from '../report/text.js';
import type { ViewName } from './format.js';
import { percent, secs } from '../analyze/numbers.js';

export interface ViewResult {
  /** False when the source behind the view was not read (the output says why). */
  ok: boolean;
  /** One line for the step message and the timeline. */
  summary: string;
  output: string;
}

function time(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '?' : `${new Date(ms).toISOString().slice(11, 19)}Z`;
}

function latency(s: LatencySummary): string {
  return s.count === 0 ? 'no values' : `p50 ${secs(s.p50)}  p95 ${secs(s.p95)}  p99 ${secs(s.p99)}  max ${secs(s.max)}`;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function sourceNote(r: Report, key: Report['sources'][number]['source']): string {
  const s = r.sources.find((x) => x.source === key);
  if (!s) return 'not read';
  return `${s.status}${s.path ? ` (${s.path})` : ''}${s.detail ? `: ${s.detail}` : ''}`;
}

function verdict(r: Report): ViewResult {
  const [top, ...others] = r.diagnosis.causes;
  if (!top) return { ok: true, summary: 'no cause named', output: ['no cause named', ...r.diagnosis.notes.map((n) => `note: ${n}`)].join('\n') };
  const lines = [`${top.id} (confidence ${Math.round(top.confidence * 100)}%): ${CAUSE_WORDS[top.id]}`, top.summary];
  for (const e of top.evidence.slice(0, 5)) lines.push(`- [${e.source}] ${cut(e.text, 300)}`);
  lines.push(`fix: ${top.remedy.text}`);
  if (top.remedy.setting && (top.remedy.current || top.remedy.suggested)) lines.push(`     ${top.remedy.setting}: ${top.remedy.current ?? '?'} -> ${top.remedy.suggested ?? 'see above'}`);
  for (const c of top.toConfirm ?? []) lines.push(`to confirm: ${c}`);
  for (const c of others) lines.push(`also: ${c.id} (${Math.round(c.confidence * 100)}%)`);
  return { ok: true, summary: `${top.id}, confidence ${Math.round(top.confidence * 100)}%`, output: lines.join('\n') };
}

function access(r: Report): ViewResult {
  const a = r.access;
  if (!a) return { ok: false, summary: `access log not read: ${sourceNote(r, 'access')}`, output: `access log not read: ${sourceNote(r, 'access')}` };
  const statuses = Object.entries(a.statuses)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 8)
    .map(([s, n]) => `${s} x ${n}`)
    .join(', ');
  const lines = [
    `requests ${a.requests}, 5xx ${a.count5xx} (${percent(a.rate5xx)}), 502 x ${a.count502}, 504 x ${a.count504}`,
    `statuses: ${statuses || 'none'}`,
    `request time   ${latency(a.requestTime)}`,
    `upstream time  ${latency(a.upstreamResponseTime)}`,
  ];
  if (a.count5xx) {
    const b = a.errorTimeBuckets;
    lines.push(`5xx by request time: <1s ${b.lt1}, 1-5s ${b.s1to5}, 5-10s ${b.s5to10}, 10-30s ${b.s10to30}, >30s ${b.gt30}`);
  }
  const recent = a.timeline.slice(-60);
  if (recent.length) {
    lines.push(
      `per minute ${time(recent[0]!.minute)}-${time(recent[recent.length - 1]!.minute)}: requests ${sparkline(recent.map((b) => b.requests))}  502/504 ${sparkline(recent.map((b) => b.count502 + b.count504))}`,
    );
  }
  if (a.worstMinute) lines.push(`worst minute ${time(a.worstMinute.minute)}: 502 x ${a.worstMinute.count502}, 504 x ${a.worstMinute.count504}`);
  if (a.upstreams.length) {
    lines.push('upstreams:');
    for (const u of a.upstreams.slice(0, 5))
      lines.push(`  ${cut(u.addr, 50).padEnd(50)} ${String(u.requests).padStart(6)} req ${String(u.errors).padStart(5)} err (502 ${u.status502}, 504 ${u.status504})  p95 ${secs(u.responseTime.p95)}`);
  }
  if (a.topFailingUris.length) {
    lines.push('failing URIs:');
    for (const u of a.topFailingUris.slice(0, 5)) lines.push(`  ${cut(u.uri, 60).padEnd(60)} 5xx ${u.count5xx} (502 ${u.count502}, 504 ${u.count504})`);
  }
  return { ok: true, summary: `${a.count5xx} of ${a.requests} requests failed with 5xx (${percent(a.rate5xx)}): 502 x ${a.count502}, 504 x ${a.count504}`, output: lines.join('\n') };
}

function errors(r: Report): ViewResult {
  const e = r.errors;
  if (!e) return { ok: false, summary: `error log not read: ${sourceNote(r, 'error')}`, output: `error log not read: ${sourceNote(r, 'error')}` };
  if (!e.signatures.length)
    return { ok: true, summary: `${e.inWindow} error-log entries, no upstream failure signatures`, output: `${e.inWindow} entries in the window, no upstream failure signatures` };
  const lines = [`${e.inWindow} entries in the window`];
  for (const s of e.signatures.slice(0, 8)) {
    lines.push(`${s.kind.padEnd(26)} x ${String(s.count).padStart(5)}  HTTP ${s.status ?? '-'}  ${time(s.firstSeen)}-${time(s.lastSeen)}  ${s.upstreams[0] ?? ''}`);
    if (s.samples[0]) lines.push(`  e.g. ${cut(s.samples[0], 400)}`);
  }
  const top = e.signatures[0]!;
  return { ok: true, summary: `${e.signatures.length} signature(s), most often ${top.kind} x ${top.count}`, output: lines.join('\n') };
}

function fpm(r: Report): ViewResult {
  const lines: string[] = [];
  const s = r.fpm.status;
  let summary: string;
  if (s) {
    lines.push(
      `pool ${s.pool ?? '?'} (pm ${s.processManager ?? '?'}): ${s.activeProcesses ?? '?'} active / ${s.totalProcesses ?? '?'} total, ${s.idleProcesses ?? '?'} idle`,
      `listen queue ${s.listenQueue ?? '?'} (max ${s.maxListenQueue ?? '?'}, len ${s.listenQueueLen ?? '?'})${s.listenQueueMeaningful === false ? ' (unix socket: always 0)' : ''}`,
      `max children reached ${s.maxChildrenReached ?? '?'}, slow requests ${s.slowRequests ?? '?'}, accepted conn ${s.acceptedConn ?? '?'}`,
    );
    const busy = s.processes.filter((p) => p.state && p.state !== 'Idle').slice(0, 8);
    if (busy.length) {
      lines.push('busy workers:');
      for (const p of busy) lines.push(`  pid ${p.pid ?? '?'} ${p.state ?? '?'} ${((p.requestDurationUs ?? 0) / 1e6).toFixed(1)}s ${p.requestMethod ?? ''} ${p.requestUri ?? ''}`);
    }
    summary = `${s.activeProcesses ?? '?'} of ${s.totalProcesses ?? '?'} workers busy, max children reached ${s.maxChildrenReached ?? '?'}`;
  } else {
    lines.push(`status page not available: ${r.fpm.statusError ?? sourceNote(r, 'fpmStatus')}`);
    summary = 'status page not available';
  }
  const log = r.fpm.log;
  if (log) {
    const events = Object.entries(log.events)
      .filter(([kind]) => !['tracing', 'child_started', 'other'].includes(kind))
      .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
    lines.push(
      `FPM log: ${events.length ? events.map(([k, n]) => `${k} x ${n}`).join(', ') : 'no events in the window'}${log.maxChildrenSetting !== undefined ? ` (pm.max_children ${log.maxChildrenSetting})` : ''}`,
    );
    if (log.signals.length) lines.push(`signals: ${log.signals.map((x) => `${x.name} x ${x.count}`).join(', ')}`);
    for (const t of log.terminations.slice(0, 3)) lines.push(`terminated after ${t.seconds === null ? '?' : t.seconds.toFixed(1)}s: ${t.script ?? '?'}`);
    for (const [kind, samples] of Object.entries(log.samples)) {
      if (['tracing', 'child_started', 'other'].includes(kind)) continue;
      if (samples?.[0]) lines.push(`  e.g. ${cut(samples[0], 300)}`);
    }
    if (events.length)
      summary += `; FPM log: ${events
        .slice(0, 3)
        .map(([k, n]) => `${k} x ${n}`)
        .join(', ')}`;
  } else {
    lines.push(`FPM log not read: ${sourceNote(r, 'fpmLog')}`);
  }
  return { ok: Boolean(s || log), summary, output: lines.join('\n') };
}

function slowlog(r: Report): ViewResult {
  const slow = r.fpm.slow;
  if (!slow) return { ok: false, summary: `slow log not read: ${sourceNote(r, 'slowLog')}`, output: `slow log not read: ${sourceNote(r, 'slowLog')}` };
  if (slow.inWindow === 0) return { ok: true, summary: 'no slow requests in the window', output: `no slow requests in the window (${slow.entries} entries in the file)` };
  const lines = [`${slow.inWindow} slow-log entries, ${time(slow.firstSeen)}-${time(slow.lastSeen)}`, 'scripts:'];
  for (const s of slow.byScript.slice(0, 5)) lines.push(`  ${s.script} x ${s.count}`);
  const frames = slow.byUserFrame.length ? slow.byUserFrame : slow.byTopFrame;
  if (frames.length) lines.push('stuck in:');
  for (const f of frames.slice(0, 5)) lines.push(`  ${f.frame} x ${f.count}`);
  if (slow.byTopFrame.length && slow.byUserFrame.length)
    lines.push(
      `innermost: ${slow.byTopFrame
        .slice(0, 3)
        .map((f) => `${f.frame} x ${f.count}`)
        .join(', ')}`,
    );
  return { ok: true, summary: `${slow.inWindow} slow requests, most in ${slow.byScript[0]?.script ?? '?'}`, output: lines.join('\n') };
}

function findings(r: Report): ViewResult {
  if (!r.findings.length) return { ok: true, summary: 'no config findings', output: 'no config findings' };
  const lines = uniqueFindings(r.findings)
    .slice(0, 10)
    .map((f) => `[${f.severity}] ${f.summary}${f.setting && (f.current || f.suggested) ? `\n    ${f.setting}: ${f.current ?? '?'} -> ${f.suggested ?? '?'}` : ''}`);
  const critical = r.findings.filter((f) => f.severity === 'critical').length;
  return { ok: true, summary: `${r.findings.length} finding(s), ${critical} critical`, output: lines.join('\n') };
}

function vitals(r: Report): ViewResult {
  const v = r.vitals;
  if (!v) return { ok: false, summary: 'host vitals not read', output: 'host vitals not read (analysis of local files)' };
  const lines: string[] = [];
  if (v.loadAverage) lines.push(`load ${v.loadAverage.one.toFixed(2)} ${v.loadAverage.five.toFixed(2)} ${v.loadAverage.fifteen.toFixed(2)}${v.cpus ? ` on ${v.cpus} CPUs` : ''}`);
  if (v.memory) lines.push(`memory available ${((v.memory.availableBytes ?? 0) / 1024 ** 3).toFixed(1)} GiB of ${((v.memory.totalBytes ?? 0) / 1024 ** 3).toFixed(1)} GiB`);
  lines.push(v.oomKills === null ? 'OOM kills: unknown (kernel log unreadable)' : `OOM kills in the kernel log: ${v.oomKills.length}`);
  if (v.somaxconn !== null) lines.push(`net.core.somaxconn ${v.somaxconn}`);
  lines.push(...openFileParts(v.openFileLimits));
  for (const p of v.problems) lines.push(`not read: ${p}`);
  return { ok: true, summary: lines[0] ?? 'vitals', output: lines.join('\n') };
}

const VIEW_FNS: Record<ViewName, (r: Report) => ViewResult> = { verdict, access, errors, fpm, slowlog, findings, vitals };

/** The named view of a report (scrubbed of credentials). */
export function renderView(view: ViewName, report: Report): ViewResult {
  return VIEW_FNS[view](scrubDeep(report));
}
