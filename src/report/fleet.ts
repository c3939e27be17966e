/** Rendering of a triage across hosts: the worst-first table, then each host's report. */
import { describeWindow } from '../config/window.js';
import type { FleetRow, TriageResult } from '../triage/types.js';
import { renderText } from './text.js';
import { readerDeep } from './sanitize.js';
import { percent } from '../analyze/numbers.js';

/** A host row's verdict where no cause names it: the words are the same in every front end. */
export function verdictCell(row: FleetRow): string {
  return row.verdict === 'unknown' ? 'UNKNOWN (not enough evidence)' : row.verdict === 'no_traffic' ? 'no traffic' : 'no cause named';
}

export function renderFleetTable(result: TriageResult): string {
  const header = ['HOST', 'REQUESTS', '5XX RATE', '502', '504', 'TOP CAUSE'];
  const rows = result.rows.map((r) => [
    r.host,
    r.requests === null ? '-' : String(r.requests),
    r.rate5xx === null ? '-' : percent(r.rate5xx),
    r.count502 === null ? '-' : String(r.count502),
    r.count504 === null ? '-' : String(r.count504),
    r.error ? `ERROR: ${r.error}` : r.topCause ? `${r.topCause} (${r.confidence?.toFixed(2)})` : verdictCell(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === header.length - 1 ? 0 : row[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export interface FleetTextOptions {
  /** ANSI colour for the verdict lines (a TTY). */
  colour?: boolean;
}

export function renderFleetText(unscrubbed: TriageResult, options: FleetTextOptions = {}): string {
  const result = readerDeep(unscrubbed);
  const parts: string[] = [];
  const since = describeWindow(result.window);
  if (result.hosts.length > 1) {
    parts.push(`Triage of ${result.target} (${result.hosts.length} hosts, ${since}, ${(result.durationMs / 1000).toFixed(1)} s)`, renderFleetTable(result), '');
  }
  for (const host of result.hosts) {
    if (result.hosts.length > 1) parts.push(`==== ${host.host} ====`);
    if (host.report) parts.push(colourise(renderText(host.report), options.colour ?? false));
    else parts.push(`Host: ${host.host}\nERROR: ${host.error}\n`);
  }
  return parts.join('\n');
}

function colourise(text: string, on: boolean): string {
  if (!on) return text;
  return text
    .replace(/^(VERDICT: healthy.*)$/m, '\x1b[32m$1\x1b[0m')
    .replace(/^(VERDICT: (?!healthy).*)$/m, '\x1b[1;31m$1\x1b[0m')
    .replace(/^(\s+FIX: .*)$/m, '\x1b[1m$1\x1b[0m');
}
