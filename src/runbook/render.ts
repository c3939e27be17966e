/**
 * Guidance text: placeholders filled from the triage and the inventory, and the runbook's Markdown
 * turned into Slack mrkdwn (the console renders mrkdwn as plain text). Runbook text is trusted, but
 * everything is escaped anyway, so a value from a log or a host cannot ping or link.
 */
import type { Host } from '../config/index.js';
import { formatDuration } from '../config/index.js';
import { verdictLine } from '../diagnose/index.js';
import { CAUSE_WORDS } from '../report/chat.js';
import { esc } from '../report/message.js';
import type { Report } from '../triage/report.js';
import { PLACEHOLDER_RE, type Placeholder } from './format.js';

export interface TemplateContext {
  host: string;
  report: Report | null;
  /** The inventory entry, for configured sources (fpmService, fpmStatusUrl, paths). */
  inventory: Host | null;
  sinceMs: number;
}

function sourcePath(report: Report | null, key: 'access' | 'error' | 'fpmLog' | 'slowLog'): string | undefined {
  return report?.sources.find((s) => s.source === key && s.path)?.path ?? undefined;
}

/** The value of each placeholder, where known. */
export function placeholderValues(ctx: TemplateContext): Partial<Record<Placeholder, string>> {
  const top = ctx.report?.diagnosis.causes[0];
  const sources = ctx.inventory?.sources ?? {};
  const values: Partial<Record<Placeholder, string | undefined>> = {
    host: ctx.host,
    verdict: ctx.report ? (verdictLine(ctx.report.diagnosis) ?? undefined) : undefined,
    needs: ctx.report?.diagnosis.verdict.needs,
    cause: top?.id,
    causeWords: top ? CAUSE_WORDS[top.id] : undefined,
    confidence: top ? `${Math.round(top.confidence * 100)}%` : undefined,
    remedy: top?.remedy.text,
    setting: top?.remedy.setting,
    current: top?.remedy.current,
    suggested: top?.remedy.suggested,
    upstream: ctx.report?.access?.upstreams[0]?.addr,
    pool: ctx.report?.fpm.status?.pool ?? ctx.report?.fpm.log?.pools[0] ?? undefined,
    accessLog: sourcePath(ctx.report, 'access') ?? sources.accessLog,
    errorLog: sourcePath(ctx.report, 'error') ?? sources.errorLog,
    fpmLog: sourcePath(ctx.report, 'fpmLog') ?? sources.fpmLog,
    slowLog: sourcePath(ctx.report, 'slowLog') ?? sources.slowLog,
    fpmService: sources.fpmService,
    fpmStatusUrl: sources.fpmStatusUrl,
    // The PHP-FPM the triage found running (its binary and config file), so advice names this host's version.
    fpmBinary: ctx.report?.sources.find((s) => s.source === 'fpmConfig')?.binary,
    fpmConf: ctx.report?.sources.find((s) => s.source === 'fpmConfig')?.path ?? undefined,
    since: formatDuration(ctx.sinceMs),
  };
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== null && v !== '')) as Partial<Record<Placeholder, string>>;
}

/** Fills `{{name}}` / `{{name|fallback}}`; an unknown value without a fallback reads `<name>`. */
export function fillPlaceholders(text: string, values: Partial<Record<Placeholder, string>>): string {
  return text.replace(PLACEHOLDER_RE, (_, name: string, fallback?: string) => {
    const value = values[name as Placeholder];
    if (value !== undefined) return value;
    return fallback !== undefined ? fallback.trim() : `<${name}>`;
  });
}

/** Inline Markdown → mrkdwn, for text outside code spans (already escaped). */
function inline(text: string): string {
  return text
    .replace(/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g, (_, label: string, url: string) => `<${url}|${label}>`)
    .replace(/\*\*([^*\n]+)\*\*/g, '\u0001$1\u0001')
    .replace(/__([^_\n]+)__/g, '\u0001$1\u0001')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, '$1_$2_')
    .replace(/\u0001/g, '*');
}

/** A line outside fenced code: escape, keep inline code as is, convert the rest. */
function convertLine(line: string): string {
  const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (heading) return `*${convertLine(heading[1]!).replace(/^\*|\*$/g, '')}*`;
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  const [indent, rest] = bullet ? [`${bullet[1]}• `, bullet[2]!] : ['', line];
  const parts = rest.split(/(`[^`\n]*`)/);
  return indent + parts.map((part, i) => (i % 2 === 1 ? esc(part) : inline(esc(part)))).join('');
}

/** Runbook Markdown → Slack mrkdwn. Fenced code keeps its lines; headings become bold lines. */
export function markdownToMrkdwn(markdown: string): string {
  const out: string[] = [];
  const block = (lines: string[]) => `\`\`\`${lines.map((l) => esc(l.replace(/```/g, 'ˋˋˋ'))).join('\n') || ' '}\`\`\``;
  let code: string[] | null = null;
  let indented: string[] | null = null;
  let tableHeader = true;
  for (const line of markdown.split('\n')) {
    if (code === null && /^\s{0,3}(`{3,}|~{3,})/.test(line)) {
      code = [];
      continue;
    }
    if (code !== null) {
      if (/^\s{0,3}(`{3,}|~{3,})\s*$/.test(line)) {
        out.push(block(code));
        code = null;
      } else code.push(line);
      continue;
    }
    // An indented code block: four spaces after a blank line, up to the next unindented line.
    if (/^ {4}/.test(line) && (indented !== null || (out[out.length - 1] ?? '') === '')) {
      (indented ??= []).push(line.slice(4));
      continue;
    }
    if (indented !== null) {
      out.push(block(indented));
      indented = null;
    }
    // Tables: the header row in bold, separator rows dropped, cells joined with a dash.
    if (/^\s*\|.*\|\s*$/.test(line)) {
      if (/^\s*\|[\s:|-]+\|\s*$/.test(line)) continue;
      const cells = line
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => convertLine(c.trim().replace(/\\\|/g, '|')));
      out.push(tableHeader ? `*${cells.map((c) => c.replace(/\*/g, '')).join(' · ')}*` : `• ${cells.join(' — ')}`);
      tableHeader = false;
      continue;
    }
    tableHeader = true;
    out.push(convertLine(line));
  }
  if (code !== null) out.push(block(code));
  if (indented !== null) out.push(block(indented));
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Guidance of a step, ready for a message. */
export function renderGuidance(markdown: string, ctx: TemplateContext): string {
  return markdownToMrkdwn(fillPlaceholders(markdown, placeholderValues(ctx)));
}
