/**
 * Loads badgateway.yaml into typed, defaulted objects. A bad file fails here, at start, with every
 * problem listed by its path in the file; nothing later has to re-validate.
 */
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, UsageError } from '../errors.js';
import { yamlData } from './yaml.js';
import { DEFAULT_CONFIG_FILE } from './files.js';
import { configSchema, type RawAlerts, type RawConfig, type Schedule, type SlackSettings, type Sources } from './schema.js';

export interface SshSettings {
  user: string;
  port: number;
  privateKey?: string;
  /** Read from the environment variable named by `passphraseEnv`; never logged. */
  passphrase?: string;
  /** Path of the ssh-agent socket, when agent auth is on. */
  agent?: string;
  knownHosts: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

export interface Host {
  name: string;
  /** What to connect to; the inventory name when no address is given. */
  address: string;
  transport: 'ssh' | 'local';
  groups: string[];
  ssh: SshSettings;
  sources: Sources;
  /** Catalog command ids for this host's actions (`hosts.X.actions`, over the fleet-wide `actions:`). */
  actions?: { reload?: string; restart?: string };
}

export interface Config {
  /** The file this came from, or null for the built-in default. */
  file: string | null;
  hosts: Host[];
  fanout: { concurrency: number; channelsPerHost: number; idleTimeoutMs: number };
  slack: Required<Pick<SlackSettings, 'channels' | 'users' | 'approvers' | 'allowSelfApproval'>> & SlackSettings;
  schedules: Schedule[];
  /** Folder of the command catalog (commands/*.yaml). */
  catalogDir: string;
  /** Folder of the runbooks (runbooks/*.md), validated when the bot starts. */
  runbooksDir: string;
  dryRun: boolean;
  /** Approvals of mutating actions (reload, restart): request expiry and verification. */
  approvals: { expiryMs: number; verifyWindowMs: number; verifyTimeoutMs: number };
  /** SIGTERM/SIGINT: how long running work may take to finish before it is cancelled. */
  shutdown: { drainTimeoutMs: number };
  /** Alertmanager intake, or null when `alerts:` is absent (the webhook then answers 404). */
  alerts: AlertsSettings | null;
}

/** One alert trigger with the fleet-wide `alerts.*` defaults filled in. */
export interface AlertTrigger {
  alertnames: string[];
  channel: string;
  /** The label naming the host (`instance`: host:port, the port is stripped). */
  hostLabel: string;
  /** The same alert (fingerprint + host) firing again within this gets a thread note, not a new triage. */
  cooldownMs: number;
  /** The triage window. */
  windowMs: number;
}

export interface AlertsSettings {
  /** Environment variable holding the webhook's bearer token; read at start, never logged. */
  tokenEnv: string;
  /** The window of the short read behind a "resolved" note. */
  resolvedWindowMs: number;
  /** Triages one webhook notification may start; the rest are summarized in one note. */
  maxTriages: number;
  triggers: AlertTrigger[];
}

export { DEFAULT_CONFIG_FILE };

/** shutdown.drainTimeout when not set. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;

/** The package root, so `commands/` is found whatever the working directory. */
const PACKAGE_ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');

export function defaultCatalogDir(): string {
  return resolve(PACKAGE_ROOT, 'commands');
}

export function defaultRunbooksDir(): string {
  return resolve(PACKAGE_ROOT, 'runbooks');
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.') || '(top level)';
  const message = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'unrecognized_keys') {
    return `${path === '(top level)' ? '' : `${path}: `}unknown setting ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${path}: ${message}`;
}

/** Parses YAML text; syntax errors are reported with their line, like schema errors with their path. */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`),
    );
  }
  const converted = yamlData(doc);
  if (!converted.ok) throw new ConfigError(file, [converted.problem]);
  const data: unknown = converted.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(file, ['(top level): expected a mapping of settings']);
  }
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.map(formatIssue));
  return buildConfig(parsed.data, file, dirname(resolve(file)), env);
}

function buildConfig(raw: RawConfig, file: string | null, baseDir: string, env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const defaults = raw.ssh ?? {};
  const hosts: Host[] = [];
  for (const [name, entry] of Object.entries(raw.hosts ?? {})) {
    const merged = { ...defaults, ...stripUndefined(entry) };
    let passphrase: string | undefined;
    if (merged.passphraseEnv) {
      passphrase = env[merged.passphraseEnv];
      if (passphrase === undefined) {
        problems.push(`hosts.${name}.passphraseEnv: environment variable ${merged.passphraseEnv} is not set`);
      }
    }
    const agent = merged.agent === true ? env.SSH_AUTH_SOCK : merged.agent === false ? undefined : merged.agent;
    if (merged.agent === true && !agent) {
      problems.push(`hosts.${name}.agent: agent auth is on but SSH_AUTH_SOCK is not set`);
    }
    hosts.push({
      name,
      address: entry.address ?? name,
      transport: entry.transport ?? 'ssh',
      groups: entry.groups ?? [],
      ssh: {
        user: merged.user ?? userInfo().username,
        port: merged.port ?? 22,
        ...(merged.privateKey ? { privateKey: resolve(baseDir, expandHome(merged.privateKey)) } : {}),
        ...(passphrase !== undefined ? { passphrase } : {}),
        ...(agent ? { agent } : {}),
        knownHosts: resolve(baseDir, expandHome(merged.knownHosts ?? '~/.ssh/known_hosts')),
        connectTimeoutMs: merged.connectTimeout ?? 10_000,
        commandTimeoutMs: merged.commandTimeout ?? 30_000,
      },
      sources: { ...raw.sources, ...stripUndefined(entry.sources ?? {}) },
      ...(raw.actions || entry.actions ? { actions: { ...stripUndefined(raw.actions ?? {}), ...stripUndefined(entry.actions ?? {}) } } : {}),
    });
  }
  if (problems.length > 0) throw new ConfigError(file ?? 'built-in config', problems);
  const catalog = raw.catalog ? resolve(baseDir, expandHome(raw.catalog)) : defaultCatalogDir();
  return {
    file,
    hosts,
    fanout: {
      concurrency: defaults.concurrency ?? 8,
      channelsPerHost: defaults.channelsPerHost ?? 6,
      idleTimeoutMs: defaults.idleTimeout ?? 60_000,
    },
    slack: { channels: [], users: [], approvers: [], allowSelfApproval: false, ...raw.slack },
    schedules: raw.schedules ?? [],
    catalogDir: isAbsolute(catalog) ? catalog : resolve(catalog),
    runbooksDir: raw.runbooks ? resolve(baseDir, expandHome(raw.runbooks)) : defaultRunbooksDir(),
    dryRun: raw.dryRun ?? false,
    approvals: {
      expiryMs: raw.approvals?.expiry ?? 15 * 60_000,
      verifyWindowMs: raw.approvals?.verifyWindow ?? 60_000,
      verifyTimeoutMs: raw.approvals?.verifyTimeout ?? 30_000,
    },
    shutdown: { drainTimeoutMs: raw.shutdown?.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT_MS },
    alerts: raw.alerts ? buildAlerts(raw.alerts) : null,
  };
}

function buildAlerts(raw: RawAlerts): AlertsSettings {
  return {
    tokenEnv: raw.tokenEnv,
    resolvedWindowMs: raw.resolvedWindow ?? 5 * 60_000,
    maxTriages: raw.maxTriages ?? 10,
    triggers: raw.triggers.map((t) => ({
      alertnames: t.alertnames,
      // The schema makes sure one of the two is set.
      channel: (t.channel ?? raw.channel)!,
      hostLabel: t.hostLabel ?? raw.hostLabel ?? 'instance',
      cooldownMs: t.cooldown ?? raw.cooldown ?? 30 * 60_000,
      windowMs: t.window ?? raw.window ?? 15 * 60_000,
    })),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface LoadOptions {
  /** `--config`; else BADGATEWAY_CONFIG; else ./badgateway.yaml. */
  path?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * What badgateway runs with when there is no badgateway.yaml: one host, `localhost`, on the local
 * transport (commands run on this machine, no SSH), its nginx and PHP-FPM found by discovery.
 */
export const BUILT_IN_CONFIG: RawConfig = { hosts: { localhost: { transport: 'local' } } };

/**
 * Loads the config file. When no path was asked for (no --config, BADGATEWAY_CONFIG unset or empty) and
 * ./badgateway.yaml does not exist, returns the built-in config (BUILT_IN_CONFIG) so that a fresh clone
 * starts and triages the machine it runs on.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const explicit = options.path ?? (env.BADGATEWAY_CONFIG || undefined);
  const file = resolve(explicit ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && explicit === undefined) return buildConfig(BUILT_IN_CONFIG, null, process.cwd(), env);
    // Not "invalid": the file is not there, or not readable; say which setting named it and what to do.
    const namedBy = options.path !== undefined ? '--config' : 'BADGATEWAY_CONFIG';
    if (code === 'ENOENT') {
      throw new UsageError(`config file ${file} does not exist (named by ${namedBy}). Check the path, or write one there with \`badgateway init ${file}\`.`);
    }
    const reason = code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(code);
    throw new UsageError(`config file ${file} (named by ${namedBy}) cannot be read: ${reason}.`);
  }
  return parseConfigText(text, file, env);
}
