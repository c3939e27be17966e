/**
 * The shape of badgateway.yaml, validated once at start. Everything downstream gets typed,
 * defaulted objects and never re-checks user input.
 */
import { z } from 'zod';
import { Cron } from 'croner';
import cron from 'node-cron';
import { parseDuration } from './units.js';

/** Inventory names are also Slack arguments: keep them to characters no shell treats specially. */
export const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const GROUP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;
// A host address is a DNS name, an IPv4 address or an IPv6 literal; nothing a shell could expand.
const ADDRESS_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*|\[?[0-9A-Fa-f:.]+\]?)$/;

/**
 * A duration (`10s`, `5m`, `500ms`; a bare number is seconds). Most must be more than zero: a zero
 * timeout or expiry would not mean "off", it would silently mean something else (a default, or
 * failing at once), so it is refused at start. `allowZero` is for the few where 0 says "off".
 */
function durationOf(options: { allowZero: boolean }) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? (Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null) : parseDuration(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 10s, 5m or 500ms, got "${value}"` });
      return z.NEVER;
    }
    if (ms === 0 && !options.allowZero) {
      ctx.addIssue({ code: 'custom', message: `must be more than 0 (a duration like 10s, 5m or 500ms), got "${value}"` });
      return z.NEVER;
    }
    return ms;
  });
}

const duration = durationOf({ allowZero: false });
/** Where 0 turns the thing off (approvals.verifyWindow, alerts cooldowns). */
const durationOrOff = durationOf({ allowZero: true });

const port = z.number().int().min(1).max(65535);

/** Paths end up as arguments of remote commands: absolute, printable, single line. */
const remotePath = z.string().regex(/^\/[^\0\n\r]*$/, 'expected an absolute path (starting with /) on one line');

const localPath = z
  .string()
  .min(1)
  .regex(/^[^\0\n\r]+$/, 'expected a path on one line');

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name');

/** SSH settings: fleet-wide under `ssh:`, and any of them again on a host to override. */
const sshFields = {
  user: z.string().regex(USER_RE, 'expected a Unix user name').optional(),
  port: port.optional(),
  privateKey: localPath.optional(),
  passphraseEnv: envName.optional(),
  agent: z.union([z.boolean(), localPath]).optional(),
  knownHosts: localPath.optional(),
  connectTimeout: duration.optional(),
  commandTimeout: duration.optional(),
};

export const sshDefaultsSchema = z.strictObject({
  ...sshFields,
  idleTimeout: duration.optional(),
  concurrency: z.number().int().min(1).max(256).optional(),
  channelsPerHost: z.number().int().min(1).max(9).optional(),
});

/** Where a host keeps its evidence; discovery fills what is not given. */
export const sourcesSchema = z.strictObject({
  accessLog: remotePath.optional(),
  logFormat: z.string().min(1).optional(),
  errorLog: remotePath.optional(),
  // A leading `-` would make the name an option of systemctl.
  fpmService: z
    .string()
    .regex(/^[A-Za-z0-9@._][A-Za-z0-9@._-]*$/, 'expected a service name like php8.2-fpm (not starting with -)')
    .optional(),
  fpmLog: remotePath.optional(),
  slowLog: remotePath.optional(),
  fpmStatusUrl: z.url({ protocol: /^https?$/ }).optional(),
});

const catalogId = z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a catalog command id like fpm.reload');

/** Which mutating catalog command each action runs (fleet-wide under `actions:`, per host under `hosts.X.actions`). */
export const actionsSchema = z.strictObject({
  reload: catalogId.optional(),
  restart: catalogId.optional(),
});

/** Approvals of mutating actions: how long a request stays open, and how the change is verified. */
export const approvalsSchema = z.strictObject({
  expiry: duration.optional(),
  /** 0: no 5xx before/after comparison. */
  verifyWindow: durationOrOff.optional(),
  verifyTimeout: duration.optional(),
});

/** How `badgateway start` stops on SIGTERM/SIGINT. */
export const shutdownSchema = z.strictObject({
  /** How long running work (approved actions, commands, digests) may take to finish before it is cancelled. */
  drainTimeout: duration.optional(),
});

export const hostSchema = z.strictObject({
  address: z.string().regex(ADDRESS_RE, 'expected a host name or IP address').optional(),
  transport: z.enum(['ssh', 'local']).optional(),
  groups: z.array(z.string().regex(GROUP_NAME_RE, 'expected a group name of letters, digits, . _ -')).optional(),
  ...sshFields,
  sources: sourcesSchema.optional(),
  actions: actionsSchema.optional(),
});

const slackUser = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user ID like U012ABCDEF');

export const slackSchema = z.strictObject({
  channels: z.array(z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'expected a Slack channel ID like C012ABCDEF')).optional(),
  /** Who may run read-only commands (triage, logs, ...); empty or absent: anyone in those channels. */
  users: z.array(slackUser).optional(),
  approvers: z.array(slackUser).optional(),
  approverGroup: z
    .string()
    .regex(/^S[A-Z0-9]{2,}$/, 'expected a Slack user group ID like S012ABCDEF')
    .optional(),
  allowSelfApproval: z.boolean().optional(),
  escalationGroup: z
    .string()
    .regex(/^S[A-Z0-9]{2,}$/, 'expected a Slack user group ID')
    .optional(),
});

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an IANA time zone like Europe/Berlin' },
);

function cronerReads(expr: string): boolean {
  try {
    new Cron(expr, { paused: true }).stop();
    return true;
  } catch {
    // croner's TypeError names the field; the schema's message says what is expected instead.
    return false;
  }
}

export const scheduleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected a name of letters, digits, . _ -'),
  // node-cron fires the schedule and croner computes its previous/next fire times: both must read it.
  cron: z.string().refine((expr) => cron.validate(expr) && cronerReads(expr), { message: 'expected a cron expression like "0 8 * * *"' }),
  timezone: timezone.optional(),
  channel: z.string().optional(),
  targets: z.array(z.string()).min(1),
  window: duration.optional(),
});

/** Alertmanager intake (README "Alerts and metrics"): which alerts start a triage, where, how often. */
const slackChannel = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'expected a Slack channel ID like C012ABCDEF');
const alertName = z.string().regex(/^[A-Za-z_:][A-Za-z0-9_:.-]{0,127}$/, 'expected an alert name like NginxHigh5xxRate');
const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'expected a Prometheus label name like instance');

export const alertTriggerSchema = z.strictObject({
  alertnames: z.array(alertName).min(1),
  channel: slackChannel.optional(),
  hostLabel: labelName.optional(),
  cooldown: durationOrOff.optional(),
  window: duration.optional(),
});

export const alertsSchema = z
  .strictObject({
    /** Name of the environment variable holding the webhook's bearer token (read at start, never logged). */
    tokenEnv: envName,
    channel: slackChannel.optional(),
    hostLabel: labelName.optional(),
    /** 0: every notification of an alert starts a triage. */
    cooldown: durationOrOff.optional(),
    window: duration.optional(),
    resolvedWindow: duration.optional(),
    /** Triages one webhook notification may start; the rest are listed in one note. */
    maxTriages: z.number().int().min(1).max(50).optional(),
    triggers: z.array(alertTriggerSchema).min(1),
  })
  .superRefine((alerts, ctx) => {
    alerts.triggers.forEach((trigger, i) => {
      if (!trigger.channel && !alerts.channel) {
        ctx.addIssue({ code: 'custom', path: ['triggers', i, 'channel'], message: 'no channel: set alerts.channel or a channel on this trigger' });
      }
    });
    const seen = new Set<string>();
    alerts.triggers.forEach((trigger, i) => {
      for (const name of trigger.alertnames) {
        if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['triggers', i, 'alertnames'], message: `alert ${name} is listed by two triggers` });
        seen.add(name);
      }
    });
  });

export const configSchema = z.strictObject({
  ssh: sshDefaultsSchema.optional(),
  sources: sourcesSchema.optional(),
  hosts: z.record(z.string().regex(HOST_NAME_RE, 'host names are letters, digits, . _ - (max 63)'), hostSchema).optional(),
  slack: slackSchema.optional(),
  schedules: z.array(scheduleSchema).optional(),
  catalog: localPath.optional(),
  /** Folder of the runbooks (*.md); default: runbooks/ of this package. */
  runbooks: localPath.optional(),
  dryRun: z.boolean().optional(),
  alerts: alertsSchema.optional(),
  actions: actionsSchema.optional(),
  approvals: approvalsSchema.optional(),
  shutdown: shutdownSchema.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type Sources = z.infer<typeof sourcesSchema>;
export type SlackSettings = z.infer<typeof slackSchema>;
export type Schedule = z.infer<typeof scheduleSchema>;
export type RawAlerts = z.infer<typeof alertsSchema>;
