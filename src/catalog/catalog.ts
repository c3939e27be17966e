/**
 * The command catalog: every remote command badgateway may run, declared as data in commands/*.yaml.
 * A command that is not here cannot run; its arguments come only from inventory values and typed,
 * validated parameters, never from free text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { Host, Sources } from '../config/index.js';
import { parseDuration, parseSize } from '../config/units.js';
import { yamlData } from '../config/yaml.js';
import { ConfigError, UsageError, printable } from '../errors.js';
import { nearest } from '../suggest.js';

/** Inventory values a template may use, by placeholder name. */
const INVENTORY_FIELDS = ['accessLog', 'errorLog', 'fpmLog', 'slowLog', 'fpmService', 'fpmStatusUrl'] as const;
type InventoryField = (typeof INVENTORY_FIELDS)[number];
const SOURCE_PATH_FIELDS = ['accessLog', 'errorLog', 'fpmLog', 'slowLog'] as const;

const PLACEHOLDER_RE = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

const paramSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('integer'),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    default: z.number().int().optional(),
    description: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('enum'),
    values: z.array(z.string().regex(/^[A-Za-z0-9._-]+$/)).min(1),
    default: z.string().optional(),
    description: z.string().optional(),
  }),
  /** Names one of the host's log sources; the value passed to the command is that source's path. */
  z.strictObject({
    type: z.literal('source'),
    values: z.array(z.enum(SOURCE_PATH_FIELDS)).min(1),
    default: z.enum(SOURCE_PATH_FIELDS).optional(),
    description: z.string().optional(),
  }),
]);

const sizeField = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  const bytes = typeof v === 'number' ? v : parseSize(v);
  if (bytes === null || bytes <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a size like 64KiB or 10MB, got "${v}"` });
    return z.NEVER;
  }
  return bytes;
});

const durationField = z.union([z.number().positive(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === null || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 10s, got "${v}"` });
    return z.NEVER;
  }
  return ms;
});

const commandSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected an id like nginx.config'),
  description: z.string().min(1),
  argv: z.array(z.string()).min(1),
  params: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/), paramSchema).optional(),
  sudo: z.boolean().optional(),
  timeout: durationField.optional(),
  maxOutput: sizeField.optional(),
  mutating: z.boolean().optional(),
  /** For mutating commands: the catalog ids that check the change worked. */
  verify: z.array(z.string()).optional(),
});

export type ParamSpec = z.infer<typeof paramSchema>;

export interface CatalogCommand {
  id: string;
  description: string;
  argv: string[];
  params: Record<string, ParamSpec>;
  sudo: boolean;
  timeoutMs: number;
  maxOutputBytes: number;
  mutating: boolean;
  verify: string[];
  /** Where it was declared, for error messages. */
  file: string;
}

/** A catalog command with every placeholder filled, ready for an executor. */
export interface RenderedCommand {
  id: string;
  argv: string[];
  sudo: boolean;
  timeoutMs: number;
  maxOutputBytes: number;
  mutating: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024;

export class Catalog {
  private readonly commands: Map<string, CatalogCommand>;

  constructor(commands: readonly CatalogCommand[]) {
    this.commands = new Map(commands.map((c) => [c.id, c]));
  }

  list(): CatalogCommand[] {
    return [...this.commands.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): CatalogCommand | undefined {
    return this.commands.get(id);
  }

  /** Looks a command up for running; unknown ids are the caller's mistake. */
  require(id: string): CatalogCommand {
    const command = this.commands.get(id);
    if (!command) throw new UsageError(`${this.unknown(id)} \`badgateway commands\` lists them.`);
    return command;
  }

  /** `"host.uptim" is not in the command catalog. Did you mean host.uptime?`: one sentence for any unknown id. */
  unknown(id: string): string {
    const near = nearest(id, [...this.commands.keys()]);
    return `"${printable(id, 80)}" is not in the command catalog.${near ? ` Did you mean ${near}?` : ''}`;
  }

  /** Fills a command's placeholders from the host's inventory values and the given parameters. */
  render(id: string, host: Host, params: Record<string, string | number> = {}): RenderedCommand {
    const command = this.require(id);
    const values = resolveParams(command, host, params);
    const argv = command.argv.map((arg) =>
      arg.replace(PLACEHOLDER_RE, (_, name: string) => {
        const value = values.get(name) ?? inventoryValue(host, name as InventoryField);
        if (value === undefined) {
          throw new UsageError(`${host.name} has no ${name} configured (set sources.${name} in badgateway.yaml), so ${command.id} cannot run there.`);
        }
        // A value starting with `-` would be read as an option by the program (systemctl reload -x).
        if (value.startsWith('-') && !/^-\d+$/.test(value)) {
          throw new UsageError(`${host.name}: the ${name} "${value.slice(0, 60)}" starts with "-", so ${command.id} will not run with it.`);
        }
        return value;
      }),
    );
    return {
      id: command.id,
      argv,
      sudo: command.sudo,
      timeoutMs: command.timeoutMs,
      maxOutputBytes: command.maxOutputBytes,
      mutating: command.mutating,
    };
  }
}

function inventoryValue(host: Host, name: InventoryField): string | undefined {
  return host.sources[name as keyof Sources];
}

function resolveParams(command: CatalogCommand, host: Host, given: Record<string, string | number>): Map<string, string> {
  for (const name of Object.keys(given)) {
    if (!(name in command.params)) {
      const known = Object.keys(command.params);
      throw new UsageError(`${command.id} takes no parameter "${name.slice(0, 40)}"${known.length ? ` (it takes: ${known.join(', ')})` : ''}.`);
    }
  }
  const values = new Map<string, string>();
  for (const [name, spec] of Object.entries(command.params)) {
    const raw = given[name] ?? spec.default;
    if (raw === undefined) throw new UsageError(`${command.id} needs the parameter ${name}=… (${describeParam(spec)}).`);
    values.set(name, checkParam(command.id, name, spec, raw, host));
  }
  return values;
}

function describeParam(spec: ParamSpec): string {
  if (spec.type === 'integer') {
    return `a whole number${spec.min !== undefined ? ` from ${spec.min}` : ''}${spec.max !== undefined ? ` up to ${spec.max}` : ''}`;
  }
  return `one of ${spec.values.join(', ')}`;
}

function checkParam(id: string, name: string, spec: ParamSpec, raw: string | number, host: Host): string {
  const text = String(raw);
  const bad = () => new UsageError(`${id}: ${name} must be ${describeParam(spec)}, got "${text.slice(0, 40)}".`);
  switch (spec.type) {
    case 'integer': {
      if (!/^-?\d{1,15}$/.test(text)) throw bad();
      const value = Number(text);
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) throw bad();
      return String(value);
    }
    case 'enum':
      if (!spec.values.includes(text)) throw bad();
      return text;
    case 'source': {
      if (!(spec.values as readonly string[]).includes(text)) throw bad();
      const path = host.sources[text as (typeof SOURCE_PATH_FIELDS)[number]];
      if (!path) throw new UsageError(`${host.name} has no ${text} configured (set sources.${text} in badgateway.yaml).`);
      return path;
    }
  }
}

/** Loads and validates every commands/*.yaml; any problem fails the start with file and path. */
export function loadCatalog(dir: string): Catalog {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    throw new ConfigError(dir, ['cannot read the command catalog folder']);
  }
  const commands: CatalogCommand[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const file = join(dir, name);
    for (const result of parseCatalogFile(readFileSync(file, 'utf8'), file)) {
      if (typeof result === 'string') {
        problems.push(result);
        continue;
      }
      const previous = seen.get(result.id);
      if (previous) problems.push(`${name}: ${result.id} is already declared in ${previous}`);
      seen.set(result.id, name);
      commands.push(result);
    }
  }
  if (problems.length > 0) throw new ConfigError(`command catalog ${dir}`, problems);
  return new Catalog(commands);
}

/** Parses one catalog file into commands, or `file: path: reason` problem strings. */
export function parseCatalogFile(text: string, file: string): Array<CatalogCommand | string> {
  const label = file.split('/').pop() ?? file;
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => `${label}: line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const converted = yamlData(doc);
  if (!converted.ok) return [`${label}: ${converted.problem}`];
  const data = converted.data;
  if (!Array.isArray(data)) return [`${label}: expected a list of commands`];
  return data.map((entry, index) => {
    const parsed = commandSchema.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = [String(index), ...issue.path.map(String)].join('.');
      return `${label}: ${where}: ${issue.message.replace(/^Invalid input: /, '')}`;
    }
    const command: CatalogCommand = {
      id: parsed.data.id,
      description: parsed.data.description,
      argv: parsed.data.argv,
      params: parsed.data.params ?? {},
      sudo: parsed.data.sudo ?? false,
      timeoutMs: parsed.data.timeout ?? DEFAULT_TIMEOUT_MS,
      maxOutputBytes: parsed.data.maxOutput ?? DEFAULT_MAX_OUTPUT,
      mutating: parsed.data.mutating ?? false,
      verify: parsed.data.verify ?? [],
      file,
    };
    const problem = checkTemplate(command);
    return problem ? `${label}: ${index} (${command.id}): ${problem}` : command;
  });
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox']);

/**
 * Index of the script text of a `sh -c 'script' name ARGS` entry (the argument after the options of a
 * shell when one of them holds `c`), or -1. Everything up to it must be constant text.
 */
export function shellScriptIndex(argv: readonly string[]): number {
  const shell = argv.findIndex((arg) => SHELLS.has(arg.split('/').pop()!));
  if (shell < 0) return -1;
  let i = shell + 1;
  if (argv[shell]!.endsWith('busybox') && argv[i] !== undefined && SHELLS.has(argv[i]!)) i++;
  let command = false;
  for (; i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--'; i++) {
    if (/^-[A-Za-z]*c/.test(argv[i]!)) command = true;
  }
  return command && i < argv.length ? i : -1;
}

function checkTemplate(command: CatalogCommand): string | null {
  if (command.argv[0]!.includes('{')) return 'the program (argv[0]) must be fixed, not a placeholder';
  const script = shellScriptIndex(command.argv);
  for (let i = 0; i <= script; i++) {
    const inside = command.argv[i]!.match(PLACEHOLDER_RE);
    if (inside) {
      return `placeholder ${inside[0]} inside the shell script text (argv[${i}]): values may only arrive as positional arguments after it (sh -c 'script using "$1"' name ${inside[0]})`;
    }
  }
  for (const arg of command.argv) {
    for (const match of arg.matchAll(PLACEHOLDER_RE)) {
      const name = match[1]!;
      if (!(name in command.params) && !(INVENTORY_FIELDS as readonly string[]).includes(name)) {
        return `unknown placeholder {${name}}: declare it under params or use one of ${INVENTORY_FIELDS.join(', ')}`;
      }
    }
  }
  if (!command.mutating && command.verify.length > 0) return 'verify is only for mutating commands';
  return null;
}
