/**
 * @module metrics: the bot's own Prometheus metrics, on a registry of its own (never prom-client's
 * global one, so nothing else in the process can add to or collide with them). Everything that
 * counts calls a method here; the names and labels are part of the contract with dashboards and
 * alert rules, so they are listed in README "Alerts and metrics".
 *
 * Label values that come from outside (Slack error codes, outcomes passed by other modules) go
 * through `label()`, which keeps them short and of a bounded alphabet, so a forged payload cannot
 * blow up the number of series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExecObserver, ExecResult } from '../exec/types.js';

/** Where a command came from: a slash command in Slack, the local console, an alert, the command line. */
export type CommandSource = 'slack' | 'console' | 'alert' | 'cli';

/**
 * How a command ended: `ok` (answered or the job finished), `failed` (the use case threw or nothing
 * could be posted), `partial` (some hosts of a fan-out failed), or the router's immediate replies.
 */
export type CommandOutcome = 'ok' | 'failed' | 'partial' | 'refused' | 'usage' | 'busy' | 'restarting' | 'cancelled' | 'ignored';

const SSH_CONNECT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SSH_COMMAND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const JOB_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

/** A label value from outside: lower case letters, digits, `_ . : -`, at most 48 characters; else `other`. */
export function label(value: unknown, fallback = 'other'): string {
  if (typeof value !== 'string') return fallback;
  const clean = value.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9_.:-]{0,47}$/.test(clean) ? clean : fallback;
}

/** Why a remote command counts as failed, or null when it succeeded. */
export function failureReason(outcome: { result?: ExecResult; error?: Error }): string | null {
  if (outcome.error) return (outcome.error as { name?: string }).name === 'AbortError' ? 'cancelled' : 'error';
  const result = outcome.result;
  if (!result) return 'error';
  if (result.timedOut) return 'timeout';
  if (result.truncated) return 'truncated';
  if (result.code === null) return 'signal';
  if (result.code !== 0) return 'exit';
  return null;
}

export class Metrics {
  readonly registry = new Registry();
  private defaultsOn = false;

  private readonly commands = new Counter({
    name: 'badgateway_commands_total',
    help: 'Commands handled, by source (slack, console, alert, cli), command (triage, logs, fpm, slowlog, help, hosts, ...) and outcome.',
    labelNames: ['source', 'command', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly jobSeconds = new Histogram({
    name: 'badgateway_job_duration_seconds',
    help: 'Wall time of jobs (a triage and its messages), from the first post to the final answer.',
    labelNames: ['source', 'command'] as const,
    buckets: JOB_BUCKETS,
    registers: [this.registry],
  });

  private readonly sshConnectSeconds = new Histogram({
    name: 'badgateway_ssh_connect_seconds',
    help: 'Time to an authenticated SSH connection (TCP, key exchange, host key check, auth).',
    buckets: SSH_CONNECT_BUCKETS,
    registers: [this.registry],
  });

  private readonly sshConnectFailures = new Counter({
    name: 'badgateway_ssh_connect_failures_total',
    help: 'SSH connections that failed (refused, timed out, host key refused, auth failed), by inventory host.',
    labelNames: ['host'] as const,
    registers: [this.registry],
  });

  private readonly sshCommandSeconds = new Histogram({
    name: 'badgateway_ssh_command_seconds',
    help: 'Wall time of remote catalog commands, by command id, whatever their outcome.',
    labelNames: ['command'] as const,
    buckets: SSH_COMMAND_BUCKETS,
    registers: [this.registry],
  });

  private readonly remoteFailures = new Counter({
    name: 'badgateway_remote_command_failures_total',
    help: 'Remote commands that did not succeed, by host, command id and reason (exit, timeout, truncated, signal, error, cancelled).',
    labelNames: ['host', 'command', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly approvals = new Counter({
    name: 'badgateway_approvals_total',
    help: 'Approval requests decided, by outcome (approved, rejected, expired, ...).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly digests = new Counter({
    name: 'badgateway_digests_posted_total',
    help: 'Scheduled digests posted, by schedule name.',
    labelNames: ['schedule'] as const,
    registers: [this.registry],
  });

  private readonly slackErrors = new Counter({
    name: 'badgateway_slack_api_errors_total',
    help: 'Slack Web API calls that failed after retries, by method and error (Slack error code, or the client error kind).',
    labelNames: ['method', 'error'] as const,
    registers: [this.registry],
  });

  private readonly slackRateLimited = new Counter({
    name: 'badgateway_slack_rate_limited_total',
    help: 'Slack Web API answers of HTTP 429 (waited out as Retry-After says), by method.',
    labelNames: ['method'] as const,
    registers: [this.registry],
  });

  private readonly slackRetries = new Counter({
    name: 'badgateway_slack_api_retries_total',
    help: 'Slack Web API calls retried, by reason (rate_limited, http_error, network).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly alerts = new Counter({
    name: 'badgateway_alerts_total',
    help: 'Alerts received from Alertmanager, by status (firing, resolved) and what was done (triage, note, resolved_note, ignored, rejected, untracked).',
    labelNames: ['status', 'action'] as const,
    registers: [this.registry],
  });

  private readonly alertRequests = new Counter({
    name: 'badgateway_alert_webhooks_total',
    help: 'Alertmanager webhook requests, by HTTP status answered.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  private runningSource: (() => number) | null = null;

  /** Read at scrape time from the router: nothing has to push it. */
  private readonly running: Gauge = new Gauge({
    name: 'badgateway_jobs_running',
    help: 'Jobs (triages, button actions) running now.',
    registers: [this.registry],
    collect: () => {
      this.running.set(this.runningSource ? this.runningSource() : 0);
    },
  });

  /** Adds prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC) under `badgateway_`. Once. */
  collectProcessMetrics(): void {
    if (this.defaultsOn) return;
    this.defaultsOn = true;
    collectDefaultMetrics({ register: this.registry, prefix: 'badgateway_' });
  }

  /** The gauge of running jobs reads this at scrape time. */
  trackRunningJobs(read: () => number): void {
    this.runningSource = read;
  }

  commandFinished(event: { source: CommandSource; command: string; outcome: CommandOutcome | string; seconds?: number }): void {
    const labels = { source: event.source, command: label(event.command), outcome: label(event.outcome) };
    this.commands.inc(labels);
    if (event.seconds !== undefined) this.jobSeconds.observe({ source: event.source, command: labels.command }, event.seconds);
  }

  /** For other modules (approvals, issue 6): one approval request decided. */
  approvalDecided(outcome: string): void {
    this.approvals.inc({ outcome: label(outcome) });
  }

  /** For the digests (issue 8): one digest posted. */
  digestPosted(schedule = ''): void {
    this.digests.inc({ schedule: schedule === '' ? '' : label(schedule) });
  }

  slackApiError(method: string, error: string): void {
    this.slackErrors.inc({ method: label(method), error: label(error) });
  }

  slackRateLimitedCall(method: string): void {
    this.slackRateLimited.inc({ method: label(method) });
  }

  slackRetry(reason: 'rate_limited' | 'http_error' | 'network'): void {
    this.slackRetries.inc({ reason });
  }

  alertHandled(status: string, action: string): void {
    this.alerts.inc({ status: label(status), action: label(action) });
  }

  alertRequest(code: number): void {
    this.alertRequests.inc({ code: String(code) });
  }

  /** Hooks for the executor (createServices' `observer`). */
  readonly observer: ExecObserver = {
    connected: (_host, ms) => this.sshConnectSeconds.observe(ms / 1000),
    connectFailed: (host) => this.sshConnectFailures.inc({ host }),
    commandFinished: (host, commandId, outcome) => {
      this.sshCommandSeconds.observe({ command: commandId }, outcome.ms / 1000);
      const reason = failureReason(outcome);
      if (reason) this.remoteFailures.inc({ host, command: commandId, reason });
    },
  };

  /** The exposition, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * The process's metrics. `badgateway start` serves these, so modules that count something (approvals,
 * digests) import this and call it: `metrics.approvalDecided('approved')`.
 */
export const metrics = new Metrics();
