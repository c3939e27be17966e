/**
 * The terminal report: the verdict first (cause, confidence, evidence, fix), then the compact
 * sections a responder scans next. Every string is scrubbed of credentials before it is printed.
 */
import { describeWindow } from '../config/window.js';
import type { LatencySummary, TimelineBucket } from '../analyze/access/index.js';
import { CAUSE_WORDS, secondaryCauses, verdictLine, type Cause } from '../diagnose/index.js';
import { readerDeep } from './sanitize.js';
import type { Report } from '../triage/report.js';
import { percent } from '../analyze/numbers.js';

const SPARK = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  if (max === 0) return values.map(() => SPARK[0]).join('');
  return values.map((v) => SPARK[Math.min(SPARK.length - 1, Math.round((v / max) * (SPARK.length - 1)))]).join('');
}

function time(ms: number | null): string {
  if (ms === null) return '?';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

function secs(v: number | null): string {
  return v === null ? '-' : v >= 10 ? `${v.toFixed(0)}s` : `${v.toFixed(3)}s`;
}

function latency(label: string, s: LatencySummary): string {
  if (s.count === 0) return `  ${label}: no values`;
  return `  ${label}: p50 ${secs(s.p50)}  p95 ${secs(s.p95)}  p99 ${secs(s.p99)}  max ${secs(s.max)}  (${s.count})`;
}

function verdict(cause: Cause, lines: string[]): void {
  // Words first, as the console and Slack say it; the id (the JSON contract's) in brackets for grep.
  lines.push(`VERDICT: ${CAUSE_WORDS[cause.id]} (${cause.id}, confidence ${cause.confidence.toFixed(2)})`);
  lines.push(`  ${cause.summary}`);
  for (const item of cause.evidence.slice(0, 6)) {
    lines.push(`  - [${item.source}] ${item.text}`);
    for (const sample of item.samples?.slice(0, 1) ?? []) lines.push(`      ${truncate(sample.split('\n')[0]!, 220)}`);
  }
  lines.push(`  FIX: ${cause.remedy.text}`);
  if (cause.remedy.setting && (cause.remedy.current || cause.remedy.suggested)) {
    lines.push(`       ${cause.remedy.setting}: ${cause.remedy.current ?? '?'} -> ${cause.remedy.suggested ?? 'see above'}`);
  }
  for (const confirm of cause.toConfirm ?? []) lines.push(`  TO CONFIRM: ${confirm}`);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function timelineLine(timeline: readonly TimelineBucket[]): string {
  const recent = timeline.slice(-60);
  return `  per minute (${recent.length} min): requests ${sparkline(recent.map((b) => b.requests))}  502/504 ${sparkline(recent.map((b) => b.count502 + b.count504))}`;
}

function explained(c: Cause): string {
  return c.explains ? `, explains ${c.explains} failure${c.explains === 1 ? '' : 's'}` : '';
}

export function renderText(unscrubbed: Report): string {
  const report = readerDeep(unscrubbed);
  const lines: string[] = [];
  const { diagnosis } = report;
  if (report.host) lines.push(`Host: ${report.host}`);
  const top = diagnosis.causes[0];
  const { alsoHolds, candidates } = secondaryCauses(diagnosis);
  if (top) verdict(top, lines);
  else lines.push(`VERDICT: ${verdictLine(diagnosis)}`);
  if (diagnosis.verdict.needs) lines.push(`  NEEDED: ${diagnosis.verdict.needs}`);
  for (const note of diagnosis.notes) lines.push(`  NOTE: ${note}`);
  if (alsoHolds.length) {
    lines.push('', 'Also holds:');
    for (const c of alsoHolds) lines.push(`  ${CAUSE_WORDS[c.id]} (${c.id}, ${c.confidence.toFixed(2)}${explained(c)}): ${c.summary}`, `    FIX: ${c.remedy.text}`);
  }
  if (candidates.length) {
    lines.push('', 'Other candidates:');
    for (const c of candidates) lines.push(`  ${CAUSE_WORDS[c.id]} (${c.id}, ${c.confidence.toFixed(2)}): ${c.summary}`);
  }

  const window = report.window;
  lines.push('', `Window: ${window.from === null && window.to === null ? 'whole files' : `${time(window.from)} .. ${time(window.to)} (${describeWindow(window)})`}`);

  const access = report.access;
  if (access && access.requests === 0 && access.unparsed > 0) {
    // Figures from a log none of whose lines parsed would all be zeros: say what to give instead.
    lines.push(
      `Access log: none of its ${access.unparsed} lines matched the log_format${report.logFormat ? ` (${report.logFormat.from === 'default' ? 'the default, ' : ''}${truncate(report.logFormat.spec, 40)})` : ''}: nothing was counted.`,
    );
  } else if (access) {
    lines.push(
      `Access log: ${access.requests} requests, 502 × ${access.count502}, 504 × ${access.count504}, 5xx ${access.count5xx} (${percent(access.rate5xx)})${access.unparsed ? `; ${access.unparsed} lines unparsed` : ''}`,
    );
    lines.push(latency('request time ', access.requestTime));
    lines.push(latency('upstream time', access.upstreamResponseTime));
    const b = access.errorTimeBuckets;
    if (access.count5xx) lines.push(`  5xx by request time: <1s ${b.lt1}, 1-5s ${b.s1to5}, 5-10s ${b.s5to10}, 10-30s ${b.s10to30}, >30s ${b.gt30}`);
    if (access.timeline.length) lines.push(timelineLine(access.timeline));
    if (access.worstMinute) lines.push(`  worst minute: ${time(access.worstMinute.minute)} (502 × ${access.worstMinute.count502}, 504 × ${access.worstMinute.count504})`);
    if (access.peakConcurrency !== null) lines.push(`  peak concurrency at the upstream: ~${access.peakConcurrency.toFixed(1)}`);
    const upstreams = access.upstreams.slice(0, 5);
    if (upstreams.length) {
      lines.push('  upstreams:');
      for (const u of upstreams) lines.push(`    ${truncate(u.addr, 50).padEnd(50)} ${String(u.requests).padStart(7)} req ${String(u.errors).padStart(6)} err  p95 ${secs(u.responseTime.p95)}`);
    }
    if (access.topFailingUris.length) {
      lines.push('  top failing URIs:');
      for (const u of access.topFailingUris.slice(0, 5)) lines.push(`    ${truncate(u.uri, 60).padEnd(60)} 5xx ${u.count5xx} (502 ${u.count502}, 504 ${u.count504})`);
    }
  }

  const errors = report.errors;
  if (errors) {
    lines.push(`Error log: ${errors.inWindow} entries in the window${errors.unparsed ? `, ${errors.unparsed} lines unparsed` : ''}`);
    for (const s of errors.signatures.slice(0, 8)) {
      lines.push(`  ${s.kind.padEnd(26)} ${String(s.count).padStart(6)}  ${s.status ?? '-'}  ${time(s.firstSeen)} .. ${time(s.lastSeen)}  ${s.upstreams[0] ?? ''}`);
    }
  }

  const fpm = report.fpm;
  if (fpm.status) {
    const s = fpm.status;
    lines.push(
      `PHP-FPM pool ${s.pool ?? '?'} (${s.processManager ?? '?'}): ${s.activeProcesses ?? '?'} active / ${s.totalProcesses ?? '?'} total, ${s.idleProcesses ?? '?'} idle, listen queue ${s.listenQueue ?? '?'}${s.listenQueueMeaningful === false ? ' (unix socket: always 0)' : ''}, max children reached ${s.maxChildrenReached ?? '?'}, slow requests ${s.slowRequests ?? '?'}`,
    );
  } else if (fpm.statusError) {
    lines.push(`PHP-FPM status: not available (${fpm.statusError})`);
  }
  if (fpm.log) {
    const events = Object.entries(fpm.log.events)
      .filter(([kind]) => !['tracing', 'child_started', 'other'].includes(kind))
      .map(([kind, n]) => `${kind} × ${n}`);
    lines.push(`FPM log: ${events.length ? events.join(', ') : 'no events in the window'}`);
  }
  if (fpm.slow && fpm.slow.inWindow > 0) {
    lines.push(`Slow log: ${fpm.slow.inWindow} entries`);
    for (const s of fpm.slow.byScript.slice(0, 3)) lines.push(`  ${s.script} × ${s.count}`);
    for (const f of (fpm.slow.byUserFrame.length ? fpm.slow.byUserFrame : fpm.slow.byTopFrame).slice(0, 3)) lines.push(`  at ${f.frame} × ${f.count}`);
  }

  if (report.vitals) lines.push(vitalsLine(report.vitals));

  if (report.findings.length) {
    lines.push('Config findings:');
    for (const f of uniqueFindings(report.findings).slice(0, 8)) lines.push(`  [${f.severity}] ${f.summary}`);
  }

  lines.push('Sources:');
  for (const s of report.sources) {
    lines.push(`  ${s.source.padEnd(12)} ${s.status}${s.path ? `  ${s.path}` : ''}${s.detail && s.status === 'read' ? `  (${s.detail})` : s.detail ? `: ${s.detail}` : ''}`);
  }
  if (report.logFormat) lines.push(`  log_format (${report.logFormat.from}): ${truncate(report.logFormat.spec, 160)}`);
  return `${lines.join('\n')}\n`;
}

function gib(bytes: number | null): string {
  return bytes === null ? '?' : `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function vitalsLine(v: NonNullable<Report['vitals']>): string {
  const parts: string[] = [];
  if (v.loadAverage) parts.push(`load ${v.loadAverage.one.toFixed(2)} ${v.loadAverage.five.toFixed(2)} ${v.loadAverage.fifteen.toFixed(2)}${v.cpus ? ` on ${v.cpus} CPUs` : ''}`);
  if (v.memory) parts.push(`memory ${gib(v.memory.availableBytes)} free of ${gib(v.memory.totalBytes)}`);
  parts.push(v.oomKills === null ? 'OOM kills unknown (kernel log unreadable)' : `${v.oomKills.length} OOM kill(s) in the kernel log`);
  if (v.somaxconn !== null) parts.push(`somaxconn ${v.somaxconn}`);
  parts.push(...openFileParts(v.openFileLimits));
  return `Host vitals: ${parts.join(', ')}`;
}

/** One part per program, not per process: "nginx open files 20000", "php-fpm open files 1024 / 65536 (3 masters)". */
export function openFileParts(limits: NonNullable<Report['vitals']>['openFileLimits']): string[] {
  const byProcess = new Map<string, { values: string[]; count: number }>();
  for (const limit of limits) {
    const entry = byProcess.get(limit.process) ?? { values: [], count: 0 };
    const value = String(limit.soft ?? '?');
    if (!entry.values.includes(value)) entry.values.push(value);
    entry.count++;
    byProcess.set(limit.process, entry);
  }
  return [...byProcess].map(([process, { values, count }]) => `${process} open files ${values.join(' / ')}${count > 1 ? ` (${count} masters)` : ''}`);
}

/** Findings as printed: one line per distinct finding (two pools with the same problem print once each, by their own summary). */
export function uniqueFindings<F extends { severity: string; summary: string }>(findings: readonly F[]): F[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.severity}\u0000${f.summary}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
