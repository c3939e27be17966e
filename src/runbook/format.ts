/**
 * Runbook files: plain Markdown a person can read, with the bits the bot needs as data.
 *
 *   ---                                  YAML front matter: id, title, summary
 *   id: 502-triage
 *   title: 502/504 triage
 *   ---
 *   Intro text (optional, shown when the runbook starts).
 *
 *   ## Observe: how bad, since when        one `##` section per step; the heading is its title
 *
 *   ```yaml step                           optional, and only right under the heading: the step's metadata
 *   id: observe
 *   check: { view: access }
 *   when: { cause: [pool_exhausted], minConfidence: 0.5 }
 *   action: reload
 *   ```
 *
 *   Guidance for the responder, Markdown, with {{placeholders}} filled from the triage.
 *   <!-- Notes for the runbook's author: never shown. -->
 *
 * Everything is validated (zod, plus cross-checks against the command catalog) when the bot starts;
 * a problem names the file, the line and the reason.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { yamlData } from '../config/yaml.js';
import { z } from 'zod';
import type { Catalog } from '../catalog/index.js';
import { CAUSE_IDS, VERDICT_STATUSES, type CauseId, type VerdictStatus } from '../diagnose/index.js';
import { ConfigError } from '../errors.js';

/** Analyzer views of the triage report a step can show. */
export const VIEWS = ['verdict', 'access', 'errors', 'fpm', 'slowlog', 'findings', 'vitals'] as const;
export type ViewName = (typeof VIEWS)[number];

/** Remediations a step may offer; each goes through the approval flow, never straight to a host. */
export const RUNBOOK_ACTIONS = {
  reload: { commandId: 'fpm.reload', label: 'Reload php-fpm' },
  restart: { commandId: 'fpm.restart', label: 'Restart php-fpm' },
} as const;
export type RunbookActionId = keyof typeof RUNBOOK_ACTIONS;
const ACTION_IDS = Object.keys(RUNBOOK_ACTIONS) as [RunbookActionId, ...RunbookActionId[]];

/** Values a guidance text may use as `{{name}}` or `{{name|fallback}}`. */
export const PLACEHOLDERS = [
  'host',
  'verdict',
  'needs',
  'cause',
  'causeWords',
  'confidence',
  'remedy',
  'setting',
  'current',
  'suggested',
  'upstream',
  'pool',
  'accessLog',
  'errorLog',
  'fpmLog',
  'slowLog',
  'fpmService',
  'fpmStatusUrl',
  'fpmBinary',
  'fpmConf',
  'since',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export const PLACEHOLDER_RE = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*(?:\|([^}\n]*))?\}\}/g;

export interface CheckCondition {
  /** Id of an earlier step whose check result is looked at. */
  step: string;
  ok?: boolean;
  /** Regular expression (case-insensitive, multiline) that the check's output must match / not match. */
  matches?: string;
  notMatches?: string;
}

export interface Condition {
  /** The triage's verdict is one of these (unknown: the evidence could not support one). */
  verdict?: VerdictStatus[];
  /** The top cause of the diagnosis is one of these. */
  cause?: CauseId[];
  /** The top cause is none of these. */
  notCause?: CauseId[];
  /** Any ranked cause (not only the first) is one of these, at minConfidence if given. */
  anyCause?: CauseId[];
  /** The top cause's (or, with anyCause, that cause's) confidence is at least this (0..1). */
  minConfidence?: number;
  check?: CheckCondition;
  any?: Condition[];
  all?: Condition[];
  not?: Condition;
}

export type StepCheck = { kind: 'command'; command: string; params: Record<string, string | number> } | { kind: 'view'; view: ViewName };

export interface RunbookStep {
  id: string;
  title: string;
  /** Markdown, placeholders not yet filled. */
  guidance: string;
  check: StepCheck | null;
  when: Condition | null;
  action: RunbookActionId | null;
  /** Line of the `##` heading, for messages. */
  line: number;
  /** Lines of the step's metadata keys, for messages. */
  lines: { check: number; when: number; action: number };
}

export interface Runbook {
  id: string;
  title: string;
  summary: string | null;
  intro: string;
  steps: RunbookStep[];
  file: string;
  /** sha256 of the file, recorded in sessions (a session resumed on a changed file says so). */
  hash: string;
}

const causeList = z.array(z.enum(CAUSE_IDS)).min(1);
const regex = z
  .string()
  .min(1)
  .refine(
    (text) => {
      try {
        new RegExp(text, 'im');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  );

const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z
    .strictObject({
      verdict: z.array(z.enum(VERDICT_STATUSES)).min(1).optional(),
      cause: causeList.optional(),
      notCause: causeList.optional(),
      anyCause: causeList.optional(),
      minConfidence: z.number().min(0).max(1).optional(),
      check: z.strictObject({ step: z.string().min(1), ok: z.boolean().optional(), matches: regex.optional(), notMatches: regex.optional() }).optional(),
      any: z.array(conditionSchema).min(1).optional(),
      all: z.array(conditionSchema).min(1).optional(),
      not: conditionSchema.optional(),
    })
    .refine((c) => Object.keys(c).length > 0, { message: 'an empty condition: say what it tests (verdict, cause, minConfidence, check, any, all, not)' }),
);

const STEP_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

const stepSchema = z.strictObject({
  id: z.string().regex(STEP_ID_RE, 'expected a step id of lower-case letters, digits and -').optional(),
  check: z.union([z.strictObject({ command: z.string().min(1), params: z.record(z.string(), z.union([z.string(), z.number()])).optional() }), z.strictObject({ view: z.enum(VIEWS) })]).optional(),
  when: conditionSchema.optional(),
  action: z.enum(ACTION_IDS).optional(),
});

const frontMatterSchema = z.strictObject({
  id: z.string().regex(STEP_ID_RE, 'expected a runbook id of lower-case letters, digits and -').optional(),
  title: z.string().min(1),
  summary: z.string().optional(),
});

/** A problem in a runbook file: where and why. */
export interface RunbookProblem {
  line: number;
  message: string;
}

class Problems {
  readonly list: RunbookProblem[] = [];
  add(line: number, message: string): void {
    this.list.push({ line, message });
  }
}

/** Line of the YAML node at `path` (1-based within the YAML text), else the first line. */
function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return counter.linePos(node.range[0]).line;
  }
  return 1;
}

function zodMessage(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  const message = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message.replace(/^Invalid input: /, '');
  return path ? `${path}: ${message}` : message;
}

/** Parses YAML that starts at `firstLine` of the file; problems are reported with file lines. */
function parseYaml<T>(text: string, firstLine: number, schema: z.ZodType<T>, problems: Problems, what: string): { data: T; line: (path: readonly PropertyKey[]) => number } | null {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const line = e.linePos?.[0]?.line ?? 1;
      problems.add(firstLine + line - 1, `${what}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    return null;
  }
  const converted = yamlData(doc);
  if (!converted.ok) {
    problems.add(firstLine, `${what}: ${converted.problem.replace(/^\(top level\): /, '')}`);
    return null;
  }
  const data: unknown = converted.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.add(firstLine, `${what}: expected a mapping of keys`);
    return null;
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // An unknown key: point at the key itself, not at the mapping holding it.
      const path = issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...issue.path, issue.keys[0]] : issue.path;
      problems.add(firstLine + lineOf(doc, counter, path) - 1, `${what}: ${zodMessage(issue)}`);
    }
    return null;
  }
  return { data: parsed.data, line: (path) => firstLine + lineOf(doc, counter, path) - 1 };
}

function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'step'
  );
}

const FENCE_RE = /^\s{0,3}(`{3,}|~{3,})\s*(.*)$/;

interface RawSection {
  title: string;
  line: number;
  body: string[];
  /** File line of body[0]. */
  bodyLine: number;
}

/**
 * Parses one runbook file. `catalog`, when given, is used to check that checks name read-only
 * catalog commands with known parameters. Throws a ConfigError listing every problem as
 * `file:line: reason`.
 */
export function parseRunbook(text: string, file: string, catalog?: Catalog): Runbook {
  const problems = new Problems();
  const label = file;
  // <!-- comments --> are notes for the runbook's author: never shown (blanked line for line, so problems keep their line numbers).
  const lines = text
    .replace(/\r\n?/g, '\n')
    .replace(/<!--[\s\S]*?-->/g, (comment) => comment.replace(/[^\n]/g, ''))
    .split('\n');
  let bodyStart = 0;
  let front: z.infer<typeof frontMatterSchema> | null = null;
  if (lines[0]?.trim() !== '---') {
    problems.add(1, 'a runbook starts with YAML front matter between two "---" lines (at least a title)');
  } else {
    const end = lines.findIndex((l, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(l));
    if (end === -1) {
      problems.add(1, 'the front matter is not closed by a "---" line');
    } else {
      front = parseYaml(lines.slice(1, end).join('\n'), 2, frontMatterSchema, problems, 'front matter')?.data ?? null;
      bodyStart = end + 1;
    }
  }

  // Split the body into the intro and `##` sections, ignoring headings inside fenced code.
  const intro: string[] = [];
  const sections: RawSection[] = [];
  let fence: string | null = null;
  let fenceLine = 0;
  for (let i = bodyStart; i < lines.length; i++) {
    const line = lines[i]!;
    const f = FENCE_RE.exec(line);
    if (f) {
      if (fence === null) {
        fence = f[1]!;
        fenceLine = i + 1;
      } else if (f[1]!.startsWith(fence[0]!) && f[1]!.length >= fence.length && f[2]!.trim() === '') {
        fence = null;
      }
    }
    const heading = fence === null && !f ? /^##\s+(.+?)\s*#*\s*$/.exec(line) : null;
    if (heading && !line.startsWith('###')) {
      sections.push({ title: heading[1]!, line: i + 1, body: [], bodyLine: i + 2 });
      continue;
    }
    if (sections.length === 0) intro.push(line);
    else sections[sections.length - 1]!.body.push(line);
  }
  if (fence !== null) problems.add(fenceLine, `the code block opened here (${fence}) is never closed`);
  if (sections.length === 0 && front) problems.add(bodyStart + 1, 'no steps: each step is a "## Title" section');

  const steps: RunbookStep[] = [];
  const ids = new Map<string, number>();
  for (const section of sections) {
    const what = `step "${section.title}"`;
    let metaEnd = 0;
    let meta: z.infer<typeof stepSchema> | null = {};
    let metaLine: (path: readonly PropertyKey[]) => number = () => section.line;
    // Metadata: a ```yaml step block, first thing under the heading.
    let first = 0;
    while (first < section.body.length && section.body[first]!.trim() === '') first++;
    const open = first < section.body.length ? FENCE_RE.exec(section.body[first]!) : null;
    if (open && /^yaml\s+step$/i.test(open[2]!.trim())) {
      const closing = new RegExp(`^\\s{0,3}${open[1]![0] === '`' ? '`' : '~'}{${open[1]!.length},}\\s*$`);
      const close = section.body.findIndex((l, i) => i > first && closing.test(l));
      if (close === -1) {
        problems.add(section.bodyLine + first, `${what}: the \`\`\`yaml step block is never closed`);
        meta = null;
      } else {
        const parsed = parseYaml(section.body.slice(first + 1, close).join('\n'), section.bodyLine + first + 1, stepSchema, problems, what);
        meta = parsed?.data ?? null;
        if (parsed) metaLine = parsed.line;
        metaEnd = close + 1;
      }
    }
    section.body.forEach((l, i) => {
      if (i !== first && /^\s{0,3}(`{3,}|~{3,})\s*yaml\s+step\s*$/i.test(l)) {
        problems.add(section.bodyLine + i, `${what}: a \`\`\`yaml step block must come right under the heading`);
      }
      if (i < metaEnd) return;
      for (const match of l.matchAll(PLACEHOLDER_RE)) {
        if (!(PLACEHOLDERS as readonly string[]).includes(match[1]!)) {
          problems.add(section.bodyLine + i, `${what}: unknown placeholder {{${match[1]}}} (known: ${PLACEHOLDERS.join(', ')})`);
        }
      }
    });
    const guidance = section.body.slice(metaEnd).join('\n').trim();
    if (!meta) continue;
    const id = meta.id ?? slug(section.title);
    if (ids.has(id)) {
      problems.add(section.line, `${what}: step id "${id}" is already used by the step at line ${ids.get(id)} (give one an explicit id)`);
    }
    ids.set(id, section.line);
    if (!guidance && !meta.check && !meta.action) problems.add(section.line, `${what}: the step has no guidance, check or action`);
    const check: StepCheck | null = meta.check
      ? 'view' in meta.check
        ? { kind: 'view', view: meta.check.view }
        : { kind: 'command', command: meta.check.command, params: meta.check.params ?? {} }
      : null;
    steps.push({
      id,
      title: section.title,
      guidance,
      check,
      when: meta.when ?? null,
      action: meta.action ?? null,
      line: section.line,
      lines: { check: metaLine(['check']), when: metaLine(['when']), action: metaLine(['action']) },
    });
  }

  // Cross-checks: conditions name earlier steps with checks; checks name read-only catalog commands.
  const seen = new Map<string, RunbookStep>();
  for (const step of steps) {
    const what = `step "${step.title}"`;
    for (const condition of checkConditions(step.when)) {
      const target = seen.get(condition.step);
      if (!target) {
        const later = steps.some((s) => s.id === condition.step);
        problems.add(step.lines.when, `${what}: when.check.step "${condition.step}" ${later ? 'is not an earlier step' : 'is not a step of this runbook'}`);
      } else if (!target.check) {
        problems.add(step.lines.when, `${what}: when.check.step "${condition.step}" has no check to look at`);
      }
    }
    if (step.check?.kind === 'command' && catalog) {
      const problem = commandProblem(catalog, step.check.command, step.check.params);
      if (problem) problems.add(step.lines.check, `${what}: check.command ${problem}`);
    }
    if (step.action && catalog && !catalog.get(RUNBOOK_ACTIONS[step.action].commandId)) {
      problems.add(step.lines.action, `${what}: action "${step.action}" needs the catalog command ${RUNBOOK_ACTIONS[step.action].commandId}, which is not in the catalog`);
    }
    seen.set(step.id, step);
  }

  if (problems.list.length > 0 || !front) {
    throw new ConfigError(
      label,
      problems.list.sort((a, b) => a.line - b.line).map((p) => `line ${p.line}: ${p.message}`),
    );
  }
  return {
    id: front.id ?? basename(file).replace(/\.md$/i, ''),
    title: front.title,
    summary: front.summary ?? null,
    intro: intro
      .join('\n')
      .replace(/^#\s+.*$/m, '')
      .trim(),
    steps,
    file,
    hash: createHash('sha256').update(text).digest('hex').slice(0, 16),
  };
}

function checkConditions(condition: Condition | null | undefined): CheckCondition[] {
  if (!condition) return [];
  return [...(condition.check ? [condition.check] : []), ...(condition.any ?? []).flatMap(checkConditions), ...(condition.all ?? []).flatMap(checkConditions), ...checkConditions(condition.not)];
}

/** Why a check cannot run this catalog command with these parameters, or null. */
function commandProblem(catalog: Catalog, id: string, params: Record<string, string | number>): string | null {
  const command = catalog.get(id);
  if (!command) return catalog.unknown(id).replace(/\.$/, '');
  if (command.mutating) return `"${id}" changes the host: a check may only read (use action: for changes)`;
  for (const [name, value] of Object.entries(params)) {
    const spec = command.params[name];
    if (!spec) return `"${id}" takes no parameter "${name}"${Object.keys(command.params).length ? ` (it takes: ${Object.keys(command.params).join(', ')})` : ''}`;
    const text = String(value);
    if (spec.type === 'integer') {
      const n = Number(text);
      if (!/^-?\d+$/.test(text) || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return `"${id}": ${name} must be a whole number${spec.min !== undefined ? ` from ${spec.min}` : ''}${spec.max !== undefined ? ` up to ${spec.max}` : ''}, got "${text}"`;
      }
    } else if (!(spec.values as readonly string[]).includes(text)) {
      return `"${id}": ${name} must be one of ${spec.values.join(', ')}, got "${text}"`;
    }
  }
  for (const [name, spec] of Object.entries(command.params)) {
    if (params[name] === undefined && spec.default === undefined) return `"${id}" needs the parameter ${name}`;
  }
  return null;
}

/** The runbooks of a folder (*.md), validated; every problem of every file in one ConfigError. */
export function loadRunbooks(dir: string, catalog?: Catalog): Map<string, Runbook> {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.md$/i.test(f) && !/^readme\.md$/i.test(f))
      .sort();
  } catch {
    throw new ConfigError(dir, ['cannot read the runbooks folder']);
  }
  const runbooks = new Map<string, Runbook>();
  const problems: string[] = [];
  for (const name of files) {
    const file = join(dir, name);
    try {
      const runbook = parseRunbook(readFileSync(file, 'utf8'), file, catalog);
      const previous = runbooks.get(runbook.id);
      if (previous) problems.push(`${file}: runbook id "${runbook.id}" is already used by ${previous.file}`);
      runbooks.set(runbook.id, runbook);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems.map((p) => `${file}:${p.replace(/^line (\d+): /, '$1: ')}`));
      else throw err;
    }
  }
  if (problems.length > 0) throw new ConfigError(`runbooks in ${dir}`, problems);
  return runbooks;
}
