/**
 * Digest → chat Message (→ Block Kit through renderSlack, within Slack's limits) and → terminal
 * text. A quiet night is one short line; otherwise the fleet summary with change arrows against the
 * previous digest, the worst hosts first, pool pressure, failing upstreams and URIs, slow scripts,
 * config findings and the hosts that could not be reached. Data goes through esc/code/pre.
 */
import { CAUSE_WORDS } from '../report/chat.js';
import { renderConsole } from '../report/console.js';
import { bold, code, esc, fallbackOf, oneLine, pre, type Message, type MessageBlock } from '../report/message.js';
import { renderSlack, type SlackMessage } from '../report/slack.js';
import { sparkline } from '../report/text.js';
import { pressureNotable } from './build.js';
import { HOUR_MS, clock, dayClock, span } from './time.js';
import type { Change, Digest, FpmPressure, HostDigest, HourBucket } from './types.js';
import { num, percent, secs } from '../analyze/numbers.js';

export interface DigestRenderOptions {
  /** A chart image goes with the message (Slack): say so instead of drawing the sparkline. */
  images?: boolean;
  /** Hosts in the worst-first table (default 10). */
  maxHosts?: number;
}

const UP = '▲';
const DOWN = '▼';

/** `▲ 12%` / `▼ 3%` / `=` for a count compared with the previous digest. */
function relative(before: number, now: number): string {
  if (before === now) return '=';
  if (before === 0) return `${UP} from 0`;
  const pct = ((now - before) / before) * 100;
  const text = Math.abs(pct) >= 10 ? Math.abs(pct).toFixed(0) : Math.abs(pct).toFixed(1);
  return `${now > before ? UP : DOWN} ${text}%`;
}

/** `▲ from 30` for a count; `=` when unchanged. */
function fromCount(before: number, now: number): string {
  return before === now ? '=' : `${now > before ? UP : DOWN} from ${num(before)}`;
}

/** `▲ +0.30 pp` for a rate. */
function points(before: number, now: number): string {
  const d = (now - before) * 100;
  if (Math.abs(d) < 0.005) return '=';
  return `${d > 0 ? UP : DOWN} ${d > 0 ? '+' : '−'}${Math.abs(d).toFixed(2)} pp`;
}

function fromSecs(before: number, now: number): string {
  if (Math.abs(now - before) < 0.005) return '=';
  return `${now > before ? UP : DOWN} from ${secs(before)}`;
}

/** The change of one host's 5xx rate, compact for the table. */
function rateArrow(change: Change | null): string {
  if (!change?.rate5xx) return '';
  const { before, now } = change.rate5xx;
  const d = (now - before) * 100;
  if (Math.abs(d) < 0.005) return '=';
  return `${d > 0 ? UP : DOWN}${Math.abs(d).toFixed(2)}`;
}

function hourLabel(b: HourBucket, timeZone: string): string {
  return `${clock(b.hour, timeZone)}–${clock(b.hour + HOUR_MS, timeZone)}`;
}

function title(d: Digest): string {
  return d.schedule ? `${d.schedule} digest of ${d.target}` : `Digest of ${d.target}`;
}

function windowText(d: Digest): string {
  const hours = Math.round((d.window.to - d.window.from) / HOUR_MS);
  const length = hours >= 1 ? `${hours}h` : `${Math.max(1, Math.round((d.window.to - d.window.from) / 60_000))}m`;
  return `${span(d.window.from, d.window.to, d.timeZone)} ${d.timeZone} (${length})`;
}

function quietLine(d: Digest): string {
  const f = d.fleet;
  const change = d.change?.requests ? ` (${relative(d.change.requests.before, d.change.requests.now)})` : '';
  const p95 = f.p95 !== null ? `, upstream p95 ≤ ${secs(f.p95)}` : '';
  const what = d.schedule ? ` (${esc(d.schedule)} digest)` : '';
  return `🌙 ${bold('All quiet')} on ${code(d.target)}${what}: ${f.hosts} host${f.hosts === 1 ? '' : 's'}, ${num(f.requests)} requests${change}, no 5xx${p95} · ${esc(span(d.window.from, d.window.to, d.timeZone))}`;
}

function fleetBlock(d: Digest): MessageBlock {
  const f = d.fleet;
  const c = d.change;
  const lines = [
    `${bold('Fleet')} ${f.withData}/${f.hosts} hosts with data${f.reached > f.withData ? ` (${f.reached - f.withData} reached without: see below)` : ''} · ${esc(windowText(d))}`,
    [
      `requests ${num(f.requests)}${c?.requests ? ` ${relative(c.requests.before, c.requests.now)}` : ''}`,
      `502 × ${num(f.count502)}${c?.count502 ? ` ${fromCount(c.count502.before, c.count502.now)}` : ''}`,
      `504 × ${num(f.count504)}${c?.count504 ? ` ${fromCount(c.count504.before, c.count504.now)}` : ''}`,
      `5xx ${percent(f.rate5xx)}${c?.rate5xx ? ` ${points(c.rate5xx.before, c.rate5xx.now)}` : ''}`,
    ].join(' · '),
    `upstream time p95 ≤ ${secs(f.p95)}${c?.p95 ? ` ${fromSecs(c.p95.before, c.p95.now)}` : ''} · p99 ≤ ${secs(f.p99)} _(highest host)_`,
  ];
  if (f.worstHour) {
    const w = f.worstHour;
    lines.push(`worst hour ${hourLabel(w, d.timeZone)}: 502 × ${num(w.count502)}, 504 × ${num(w.count504)}, 5xx ${num(w.count5xx)} of ${num(w.requests)} requests`);
  }
  if (d.previousTo === null) lines.push('_no previous digest to compare with_');
  return { kind: 'section', text: lines.join('\n') };
}

/** Two lines of sparkline, one character per hour, with the first and last hour under them. */
export function hourlySparkline(d: Digest): string[] {
  const hours = d.hourly;
  if (!hours.length) return [];
  const first = clock(hours[0]!.hour, d.timeZone);
  const last = clock(hours[hours.length - 1]!.hour, d.timeZone);
  const width = hours.length;
  const axis = width > first.length + last.length ? `${first}${' '.repeat(width - first.length - last.length)}${last}` : `${first}…${last}`;
  return [`requests ${sparkline(hours.map((h) => h.requests))}`, `502/504  ${sparkline(hours.map((h) => h.count502 + h.count504))}`, `         ${axis}`];
}

function hostCause(h: HostDigest): string {
  if (h.noData !== null) return 'no data';
  if (!h.topCause || h.topCause.id === 'healthy') return h.count5xx ? 'no cause named' : '-';
  return `${h.topCause.id} ${Math.round(h.topCause.confidence * 100)}%`;
}

function hostsBlock(d: Digest, max: number): MessageBlock | null {
  const rows = d.hosts.filter((h) => h.attention);
  if (!rows.length) return null;
  const shown = rows
    .slice(0, max)
    .map((h) => [
      h.host,
      num(h.requests),
      num(h.count502),
      num(h.count504),
      percent(h.rate5xx),
      rateArrow(h.change),
      secs(h.p95),
      h.worstHour ? clock(h.worstHour.hour, d.timeZone) : '-',
      hostCause(h),
    ]);
  const header = ['HOST', 'REQ', '502', '504', '5XX', 'Δpp', 'P95', 'WORST', 'TOP CAUSE'];
  const widths = header.map((hd, i) => (i === header.length - 1 ? 0 : Math.max(hd.length, ...shown.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...shown.map(line)];
  if (rows.length > max) lines.push(`…and ${rows.length - max} more hosts needing attention`);
  const calm = d.hosts.length - rows.length;
  return { kind: 'section', text: `${bold('Worst hosts first')}${calm ? ` (${calm} more without 5xx or pool pressure)` : ''}\n${pre(lines)}` };
}

function pressureText(p: FpmPressure): string {
  const parts: string[] = [];
  if (p.maxChildrenSinceLast !== null) parts.push(`max children reached +${num(p.maxChildrenSinceLast)} since the last digest${p.restarted ? ' (pool restarted)' : ''}`);
  else if (p.maxChildrenTotal !== null && p.maxChildrenTotal > 0) parts.push(`max children reached ${num(p.maxChildrenTotal)} since the pool started (no baseline yet)`);
  if (p.maxChildrenLogged) parts.push(`${num(p.maxChildrenLogged)} "max_children" warnings in the FPM log`);
  if (p.listenQueuePeak !== null && (p.listenQueueRose || p.listenQueuePeak > 0)) parts.push(`listen queue peak ${num(p.listenQueuePeak)}${p.listenQueueRose ? ` ${UP} new` : ''}`);
  if (p.slowSinceLast) parts.push(`slow requests +${num(p.slowSinceLast)}`);
  if (p.statusError) parts.push(`status page not answered: ${oneLine(p.statusError, 160)}`);
  return parts.join(' · ');
}

function fpmBlock(d: Digest, max: number): MessageBlock | null {
  const hosts = d.hosts.filter((h) => pressureNotable(h.fpm));
  if (!hosts.length) return null;
  const lines = [bold('PHP-FPM pool pressure')];
  for (const h of hosts.slice(0, max)) lines.push(`• ${code(h.host)}${h.fpm!.pool ? ` pool ${code(h.fpm!.pool)}` : ''}: ${esc(pressureText(h.fpm!))}`);
  if (hosts.length > max) lines.push(`_…and ${hosts.length - max} more hosts_`);
  return { kind: 'section', text: lines.join('\n') };
}

function hostsList(hosts: string[], max = 3): string {
  return hosts.length <= max ? hosts.join(', ') : `${hosts.slice(0, max).join(', ')} +${hosts.length - max}`;
}

function upstreamsBlock(d: Digest): MessageBlock | null {
  if (!d.topUpstreams.length) return null;
  const rows = d.topUpstreams.map(
    (u) => `${cell(u.addr, 34)} ${String(u.errors).padStart(6)} err of ${String(u.requests).padStart(8)}  502 ${u.status502} 504 ${u.status504}  p95 ${secs(u.p95)}  ${hostsList(u.hosts)}`,
  );
  return { kind: 'section', text: `${bold('Top failing upstreams')}\n${pre(rows)}` };
}

function urisBlock(d: Digest): MessageBlock | null {
  if (!d.topUris.length) return null;
  const rows = d.topUris.map((u) => `${cell(u.uri, 44)} 5xx ${String(u.count5xx).padStart(6)}  502 ${u.count502} 504 ${u.count504}  ${hostsList(u.hosts)}`);
  return { kind: 'section', text: `${bold('Top failing URIs')}\n${pre(rows)}` };
}

function slowBlock(d: Digest): MessageBlock | null {
  if (!d.slowScripts.length) return null;
  const lines = [bold('Top slow scripts')];
  for (const s of d.slowScripts) lines.push(`• ${code(s.script)} × ${num(s.count)} (${esc(hostsList(s.hosts))})`);
  return { kind: 'section', text: lines.join('\n') };
}

function findingsBlock(d: Digest, max = 6): MessageBlock | null {
  if (!d.findings.length) return null;
  const icon = { critical: '🔴', warn: '🟠', info: '⚪' } as const;
  const lines = [bold('Config findings')];
  for (const f of d.findings.slice(0, max)) {
    const where = f.hosts.length === d.fleet.reached && f.hosts.length > 1 ? 'all hosts' : hostsList(f.hosts);
    lines.push(`${icon[f.severity]} ${esc(oneLine(f.summary, 260))} _(${esc(where)})_`);
  }
  if (d.findings.length > max) lines.push(`_…and ${d.findings.length - max} more_`);
  return { kind: 'section', text: lines.join('\n') };
}

/** Hosts reached whose window could not be judged: never counted as quiet, with why. */
function noDataBlock(d: Digest, max = 10): MessageBlock | null {
  const rows = d.hosts.filter((h) => h.noData !== null);
  if (!rows.length) return null;
  const lines = [`${bold('No data')} for ${rows.length} host${rows.length === 1 ? '' : 's'} (not counted as quiet)`];
  for (const h of rows.slice(0, max)) lines.push(`• ${code(h.host)}: ${esc(oneLine(h.noData!, 200))}`);
  if (rows.length > max) lines.push(`_…and ${rows.length - max} more_`);
  return { kind: 'section', text: lines.join('\n') };
}

function unreachableBlock(d: Digest, max = 10): MessageBlock | null {
  if (!d.unreachable.length) return null;
  const lines = [`${bold('Could not reach')} ${d.unreachable.length} host${d.unreachable.length === 1 ? '' : 's'}`];
  for (const u of d.unreachable.slice(0, max)) lines.push(`• ${code(u.host)}: ${esc(oneLine(u.error, 200))}`);
  if (d.unreachable.length > max) lines.push(`_…and ${d.unreachable.length - max} more_`);
  return { kind: 'section', text: lines.join('\n') };
}

function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function footer(d: Digest, images: boolean): MessageBlock {
  const mb = d.collection.bytesFetched / 1024 / 1024;
  const parts = [
    `collected in ${(d.collection.durationMs / 1000).toFixed(1)} s, ${mb >= 1 ? `${mb.toFixed(1)} MB` : `${Math.ceil(d.collection.bytesFetched / 1024)} KB`} read`,
    d.previousTo !== null ? `compared with the digest up to ${dayClock(d.previousTo, d.timeZone)}` : null,
    images ? 'chart of requests and 502/504 per hour below' : null,
    '`/502 triage HOST` for any host',
  ].filter(Boolean);
  return { kind: 'context', text: parts.join(' · ') };
}

/** The digest as a chat message (rendered for Slack by renderSlack, for terminals by renderConsole). */
export function digestMessage(d: Digest, options: DigestRenderOptions = {}): Message {
  const images = options.images ?? false;
  const blocks: MessageBlock[] = [];
  const late: MessageBlock | null = d.lateNote ? { kind: 'context', text: `⏰ ${esc(d.lateNote)}` } : null;
  if (d.quiet) {
    blocks.push({ kind: 'section', text: quietLine(d) });
    if (late) blocks.push(late);
    return { text: fallbackOf(blocks), blocks };
  }
  const need = d.fleet.attention + d.unreachable.length;
  blocks.push({ kind: 'header', text: `${title(d)}: ${need} of ${d.fleet.hosts} host${d.fleet.hosts === 1 ? '' : 's'} need${need === 1 ? 's' : ''} attention` });
  if (late) blocks.push(late);
  blocks.push(fleetBlock(d));
  if (!images && d.hourly.length > 1) blocks.push({ kind: 'section', text: `${bold('Per hour')}\n${pre(hourlySparkline(d))}` });
  const worst = d.hosts.find((h) => h.attention && h.topCause && h.topCause.id !== 'healthy');
  for (const block of [
    hostsBlock(d, options.maxHosts ?? 10),
    worst ? { kind: 'section' as const, text: `${bold('Worst host:')} ${code(worst.host)}: ${esc(CAUSE_WORDS[worst.topCause!.id])}` } : null,
    fpmBlock(d, 8),
    upstreamsBlock(d),
    urisBlock(d),
    slowBlock(d),
    findingsBlock(d),
    noDataBlock(d),
    unreachableBlock(d),
  ]) {
    if (block) blocks.push(block);
  }
  blocks.push(footer(d, images));
  return { text: fallbackOf(blocks), blocks };
}

/** Block Kit for Slack, within its limits (renderSlack cuts with a visible note). */
export function renderDigestSlack(d: Digest, options: DigestRenderOptions = {}): SlackMessage {
  return renderSlack(digestMessage(d, options));
}

/** Terminal text: the same message without images (the sparkline stands in for the chart). */
export function renderDigestText(d: Digest): string {
  return renderConsole(digestMessage(d, { images: false }), () => 0);
}

/** One line for logs and file comments. */
export function digestSummary(d: Digest): string {
  const f = d.fleet;
  return `${title(d)}, ${span(d.window.from, d.window.to, d.timeZone)}: ${num(f.requests)} requests, 502 × ${num(f.count502)}, 504 × ${num(f.count504)} (${percent(f.rate5xx)} 5xx)`;
}
