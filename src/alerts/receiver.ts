/**
 * @module alerts: Alertmanager's webhook → triage in Slack. `POST /alerts/alertmanager` with the
 * bearer token from `alerts.tokenEnv`:
 *  - a firing alert named by a trigger starts the same triage job as `/502 triage HOST` (through the
 *    router), posted in the trigger's channel;
 *  - the same alert (fingerprint + host) firing again within the cooldown gets a thread note instead;
 *  - resolved gets a thread note with the 5xx rate now (a short triage of the last few minutes);
 *  - unknown hosts and malformed payloads get a 4xx with a JSON reason and a log line, nothing posted.
 *
 * The alert → message mapping is in memory (AlertThreads); after a restart a repeated alert starts a
 * new triage and a resolved one is only logged. The store (src/store) has no table for it yet.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlertTrigger, AlertsSettings } from '../config/index.js';
import { formatDuration } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { Inventory } from '../inventory/index.js';
import type { Logger } from '../log/index.js';
import { readBody, sendJson, type Route } from '../metrics/http.js';
import type { Metrics } from '../metrics/metrics.js';
import { bold, code, esc, oneLine, type Message } from '../report/message.js';
import { noticeMessage } from '../chat/messages.js';
import type { Router } from '../router/router.js';
import type { MessageHandle, Responder } from '../chat/types.js';
import type { TriageRequest, TriageResult } from '../triage/types.js';
import { parseAlertmanager, type Alert } from './alertmanager.js';
import { matchAlertHost } from './hosts.js';
import { percent } from '../analyze/numbers.js';

export const ALERTMANAGER_PATH = '/alerts/alertmanager';
const MAX_BODY = 1024 * 1024;
const MAX_THREADS = 10_000;

/** What was done with one alert of a payload. */
export type AlertAction =
  | 'triage' // a triage was started and posted
  | 'note' // a repeat within the cooldown: a thread note
  | 'resolved_note' // resolved: a thread note with the 5xx rate now
  | 'ignored' // no trigger names this alert
  | 'duplicate' // resolved again after its note, or the same alert earlier in this notification
  | 'summarized' // over alerts.maxTriages in this notification: listed in one note, no triage
  | 'untracked' // resolved, but no triage of it is known (before a restart, or never fired here)
  | 'rejected' // the host could not be told (unknown, missing label, ambiguous address)
  | 'unavailable'; // no Slack connection, or too many jobs: Alertmanager should retry

export interface AlertResult {
  alertname: string | null;
  status: 'firing' | 'resolved';
  fingerprint: string;
  host: string | null;
  action: AlertAction;
  reason?: string;
}

export interface AlertResponse {
  status: number;
  body: Record<string, unknown>;
  /** Seconds Alertmanager should wait before retrying (a 503). */
  retryAfterSeconds?: number;
}

/** What one notification has done so far: the alerts seen, the triages started, the ones left for the summary. */
interface PayloadState {
  seen: Set<string>;
  triages: number;
  summarized: Array<{ alertname: string; host: string; channel: string }>;
}

/** One alert's message in Slack: where repeats and the resolution are threaded. */
export interface AlertThread {
  alertname: string;
  host: string;
  channel: string;
  /** When the triage was started (the cooldown runs from here). */
  triagedAt: number;
  startsAt: string | null;
  /** Resolves to the posted message, or null when nothing could be posted. */
  handle: Promise<MessageHandle | null>;
  notifications: number;
  resolvedAt: number | null;
}

/** The alert → message mapping; in memory for now, shaped so a store-backed one can replace it. */
export class AlertThreads {
  private readonly threads = new Map<string, AlertThread>();

  static key(fingerprint: string, host: string): string {
    return `${fingerprint}|${host}`;
  }

  get(key: string): AlertThread | undefined {
    return this.threads.get(key);
  }

  set(key: string, thread: AlertThread): void {
    this.threads.delete(key);
    this.threads.set(key, thread);
    // Oldest first in a Map: drop beyond the cap.
    while (this.threads.size > MAX_THREADS) this.threads.delete(this.threads.keys().next().value!);
  }

  /** Forgets a thread, if it is still this one. */
  delete(key: string, thread: AlertThread): void {
    if (this.threads.get(key) === thread) this.threads.delete(key);
  }

  /** Forgets threads older than `maxAgeMs` (the longest cooldown, at least a day). */
  prune(now: number, maxAgeMs: number): void {
    for (const [key, thread] of this.threads) if (now - thread.triagedAt > maxAgeMs) this.threads.delete(key);
  }

  get size(): number {
    return this.threads.size;
  }
}

export interface AlertReceiverOptions {
  settings: AlertsSettings;
  /** The bearer token (from the environment variable alerts.tokenEnv names). Never logged. */
  token: string;
  inventory: Inventory;
  router: Pick<Router, 'triage' | 'background' | 'retryAfterSeconds'>;
  /** The short read behind a resolved note (the triage use case, not posted). */
  triage: (request: TriageRequest) => Promise<TriageResult>;
  /** Where to post in a channel; null when there is no Slack connection (the console). */
  responderFor: (channel: string) => Responder | null;
  logger: Logger;
  metrics?: Pick<Metrics, 'alertHandled' | 'alertRequest'>;
  threads?: AlertThreads;
  now?: () => number;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function clock(iso: string | null | number): string | null {
  if (iso === null) return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime()) || date.getTime() <= 0) return null;
  return `${date.toISOString().slice(11, 19)} UTC`;
}

export class AlertReceiver {
  readonly threads: AlertThreads;
  private readonly tokenDigest: Buffer;
  private readonly byName = new Map<string, AlertTrigger>();
  private readonly background = new Set<Promise<void>>();
  /** drain(): the bot is stopping; new alerts get 503 so that Alertmanager sends them again (to the next instance). */
  private draining = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly options: AlertReceiverOptions) {
    if (options.token.length < 16) throw new Error('the alert webhook token must be at least 16 characters');
    this.tokenDigest = digest(options.token);
    for (const trigger of options.settings.triggers) for (const name of trigger.alertnames) this.byName.set(name, trigger);
    this.threads = options.threads ?? new AlertThreads();
    this.log = options.logger.child({ component: 'alerts' });
    this.now = options.now ?? Date.now;
  }

  /** `Authorization: Bearer TOKEN`, compared in constant time. */
  authorized(header: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return false;
    return timingSafeEqual(digest(match[1]!), this.tokenDigest);
  }

  /** The webhook route, for the HTTP receiver or the metrics server. */
  route(): Route {
    return {
      path: ALERTMANAGER_PATH,
      method: 'POST',
      handler: (req, res) => this.handle(req, res),
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: AlertResponse;
    if (!this.authorized(req.headers.authorization)) {
      req.resume();
      this.log.warn({ remote: req.socket.remoteAddress, reason: req.headers.authorization ? 'wrong token' : 'no bearer token' }, 'alert webhook refused');
      answer = { status: 401, body: { status: 'unauthorized', reason: 'missing or wrong bearer token' } };
      this.options.metrics?.alertRequest(401);
      sendJson(res, answer.status, answer.body, { 'www-authenticate': 'Bearer realm="badgateway"' });
      return;
    }
    let body: string;
    try {
      body = await readBody(req, MAX_BODY);
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      this.log.warn({ err: errorMessage(err) }, 'alert webhook body unreadable');
      this.options.metrics?.alertRequest(status);
      sendJson(res, status, { status: 'rejected', reason: errorMessage(err) });
      return;
    }
    answer = this.receive(body);
    this.options.metrics?.alertRequest(answer.status);
    sendJson(res, answer.status, answer.body, answer.retryAfterSeconds ? { 'retry-after': String(answer.retryAfterSeconds) } : {});
  }

  /**
   * Decides what to do with an (authorized) payload and starts it; returns at once, before any
   * triage ends, so Alertmanager's webhook timeout is never reached.
   */
  receive(body: string): AlertResponse {
    if (this.draining) {
      this.options.metrics?.alertHandled('unknown', 'unavailable');
      return { status: 503, body: { status: 'unavailable', reason: 'badgateway is restarting; Alertmanager will send it again' } };
    }
    const parsed = parseAlertmanager(body);
    if (!parsed.ok) {
      this.log.warn({ reason: parsed.reason }, 'malformed alert webhook');
      return { status: 400, body: { status: 'rejected', reason: `malformed Alertmanager payload: ${parsed.reason}` } };
    }
    const now = this.now();
    const longest = Math.max(24 * 3600_000, ...this.options.settings.triggers.map((t) => t.cooldownMs * 2));
    this.threads.prune(now, longest);
    const state: PayloadState = { seen: new Set(), triages: 0, summarized: [] };
    const results = parsed.payload.alerts.map((alert) => this.one(alert, now, parsed.payload.externalURL, state));
    this.noteSummarized(state.summarized);
    for (const r of results) {
      this.options.metrics?.alertHandled(r.status, r.action);
      const line = { alertname: r.alertname, status: r.status, host: r.host, fingerprint: r.fingerprint, action: r.action, ...(r.reason ? { reason: r.reason } : {}) };
      if (r.action === 'rejected' || r.action === 'unavailable') this.log.warn(line, 'alert not handled');
      else this.log.info(line, 'alert handled');
    }
    const acted = results.filter((r) => r.action === 'triage' || r.action === 'note' || r.action === 'resolved_note');
    const unavailable = results.filter((r) => r.action === 'unavailable');
    const rejected = results.filter((r) => r.action === 'rejected');
    if (acted.length === 0 && unavailable.length > 0) {
      return { status: 503, body: { status: 'unavailable', reason: unavailable[0]!.reason, results }, retryAfterSeconds: this.options.router.retryAfterSeconds() };
    }
    if (acted.length === 0 && rejected.length > 0) {
      return { status: 422, body: { status: 'rejected', reason: rejected[0]!.reason, results } };
    }
    return { status: 200, body: { status: 'ok', results } };
  }

  private one(alert: Alert, now: number, externalURL: string | null, state: PayloadState): AlertResult {
    const base = { alertname: alert.alertname, status: alert.status, fingerprint: alert.fingerprint, host: null };
    const trigger = alert.alertname ? this.byName.get(alert.alertname) : undefined;
    if (!trigger || !alert.alertname) {
      return { ...base, action: 'ignored', reason: alert.alertname ? 'no trigger in alerts.triggers names this alert' : 'the alert has no alertname label' };
    }
    const match = matchAlertHost(alert.labels[trigger.hostLabel], this.options.inventory, trigger.hostLabel);
    if (!match.ok) return { ...base, action: 'rejected', reason: match.reason };
    const host = match.host.name;
    const key = AlertThreads.key(alert.fingerprint, host);
    const thread = this.threads.get(key);
    const result = { ...base, host };
    // One action per (alert, host) per notification, whatever the number of copies in it.
    if (state.seen.has(key)) return { ...result, action: 'duplicate', reason: 'the same alert for this host appears earlier in this notification' };
    state.seen.add(key);

    if (alert.status === 'resolved') {
      if (!thread) return { ...result, action: 'untracked', reason: 'no triage of this alert is known (fired before a restart, or elsewhere)' };
      if (thread.resolvedAt !== null) return { ...result, action: 'duplicate', reason: 'already noted as resolved' };
      // The read behind the note is a job like any other: inside the cap, cancelled at shutdown.
      const note = this.options.router.background(`resolved note of ${host}`, (signal) => this.noteResolved(thread, alert, signal));
      if (!note) return { ...result, action: 'unavailable', reason: 'too many jobs running; retry later' };
      thread.resolvedAt = now;
      this.spawn(() => note);
      return { ...result, action: 'resolved_note' };
    }

    if (thread && now - thread.triagedAt < trigger.cooldownMs) {
      const refired = thread.resolvedAt !== null;
      thread.resolvedAt = null;
      thread.notifications++;
      this.spawn(() => this.noteRepeat(thread, alert, trigger, refired));
      return { ...result, action: 'note' };
    }

    const responder = this.options.responderFor(trigger.channel);
    if (!responder) return { ...result, action: 'unavailable', reason: 'no Slack connection to post in (console mode)' };
    if (state.triages >= this.options.settings.maxTriages) {
      state.summarized.push({ alertname: alert.alertname, host, channel: trigger.channel });
      return { ...result, action: 'summarized', reason: `more than ${this.options.settings.maxTriages} triages in one notification (alerts.maxTriages): listed in one note` };
    }
    let posted!: (handle: MessageHandle | null) => void;
    const handle = new Promise<MessageHandle | null>((resolve) => (posted = resolve));
    const job = this.options.router.triage(
      {
        source: 'alert',
        target: host,
        sinceMs: trigger.windowMs,
        channel: trigger.channel,
        requestedBy: `alert ${code(alert.alertname)}${externalURL ? ' (Alertmanager)' : ''}`,
        onPosted: (h) => posted(h),
      },
      responder,
    );
    if (!job) return { ...result, action: 'unavailable', reason: 'too many jobs running; retry later' };
    state.triages++;
    const created: AlertThread = {
      alertname: alert.alertname,
      host,
      channel: trigger.channel,
      triagedAt: now,
      startsAt: alert.startsAt,
      handle,
      notifications: 1,
      resolvedAt: null,
    };
    this.threads.set(key, created);
    this.spawn(async () => {
      const outcome = await job;
      posted(outcome.handle);
      if (!outcome.handle) {
        // Nothing to thread under: the next notification should try a triage again.
        this.threads.delete(key, created);
        this.log.warn({ alertname: alert.alertname, host, channel: trigger.channel, err: outcome.error }, 'could not post the alert triage');
      }
    });
    return { ...result, action: 'triage' };
  }

  private spawn(work: () => Promise<void>): void {
    const promise: Promise<void> = work()
      .catch((err) => this.log.warn({ err: errorMessage(err) }, 'alert follow-up failed'))
      .finally(() => this.background.delete(promise));
    this.background.add(promise);
  }

  private async reply(thread: AlertThread, message: Message): Promise<void> {
    const handle = await thread.handle;
    if (!handle) {
      this.log.warn({ alertname: thread.alertname, host: thread.host }, 'no message to thread the alert note under');
      return;
    }
    await handle.reply(message);
  }

  private async noteRepeat(thread: AlertThread, alert: Alert, trigger: AlertTrigger, refired: boolean): Promise<void> {
    const since = clock(alert.startsAt);
    const until = clock(thread.triagedAt + trigger.cooldownMs);
    // The alert's summary is someone else's text: shown as plain text under the note.
    const text =
      `🔁 ${code(thread.alertname)} ${refired ? 'is firing again' : 'is still firing'} for ${code(thread.host)}` +
      ` (notification ${thread.notifications}${since ? `, firing since ${since}` : ''}). ` +
      `Within the ${formatDuration(trigger.cooldownMs)} cooldown${until ? ` (until ${until})` : ''}, so no new triage; ` +
      `${code(`/502 triage ${thread.host}`)} runs a fresh one.`;
    const summary = alert.annotations.summary ? [{ kind: 'plain' as const, text: oneLine(alert.annotations.summary, 300) }] : [];
    await this.reply(thread, { text, blocks: [{ kind: 'section', text }, ...summary] });
  }

  /** One note per channel for the alerts over the per-notification cap: what they were, and how to triage them. */
  private noteSummarized(left: PayloadState['summarized']): void {
    const byChannel = new Map<string, PayloadState['summarized']>();
    for (const entry of left) byChannel.set(entry.channel, [...(byChannel.get(entry.channel) ?? []), entry]);
    for (const [channel, entries] of byChannel) {
      const responder = this.options.responderFor(channel);
      if (!responder) continue;
      const listed = entries
        .slice(0, 20)
        .map((e) => `${code(e.host)} (${code(e.alertname)})`)
        .join(', ');
      const text =
        `⚠️ ${bold(`${entries.length} more alert${entries.length === 1 ? '' : 's'}`)} in this Alertmanager notification would each start a triage; ` +
        `at most ${this.options.settings.maxTriages} start per notification (${code('alerts.maxTriages')}): ${listed}${entries.length > 20 ? ', …' : ''}. ` +
        `${code('/502 triage HOST')} or a @group triages them now; the next notification of each alert tries again.`;
      this.spawn(async () => {
        await responder.post(noticeMessage(text));
      });
    }
  }

  private async noteResolved(thread: AlertThread, alert: Alert, signal: AbortSignal): Promise<void> {
    const window = this.options.settings.resolvedWindowMs;
    let now: string;
    try {
      const result = await this.options.triage({ target: thread.host, sinceMs: window, signal });
      now = this.rateNow(result, thread.host, window);
    } catch (err) {
      now = `5xx now: unknown, ${esc(errorMessage(err))}`;
    }
    const when = clock(alert.endsAt) ?? clock(this.now());
    const since = clock(alert.startsAt ?? thread.startsAt);
    const text = `✅ ${bold('Resolved')}: ${code(thread.alertname)} on ${code(thread.host)}${when ? ` at ${when}` : ''}${since ? ` (firing since ${since})` : ''}.\n${now}`;
    await this.reply(thread, noticeMessage(text));
  }

  private rateNow(result: TriageResult, host: string, windowMs: number): string {
    const triaged = result.hosts.find((h) => h.host === host);
    const access = triaged?.report?.access ?? null;
    const last = `the last ${formatDuration(windowMs)}`;
    if (!triaged || triaged.error) return `5xx now: unknown, could not read ${code(host)}: ${esc(triaged?.error ?? 'no result')}`;
    const verdict = triaged.report?.diagnosis.verdict;
    // A resolved alert is no proof of health: where the triage cannot tell, the note says so.
    if (verdict?.status === 'unknown') return `5xx now: unknown, ${esc(verdict.why ?? 'the evidence cannot support a verdict')}.`;
    if (!access) return `5xx now: unknown, the access log of ${code(host)} could not be read.`;
    if (access.requests === 0) return `5xx now: no requests in ${last}.`;
    const top = result.rows.find((r) => r.host === host)?.topCause ?? null;
    return (
      `5xx now: ${bold(percent(access.rate5xx))} (${access.count5xx} of ${access.requests} requests in ${last}; 502 × ${access.count502}, 504 × ${access.count504})` +
      (top && top !== 'healthy' ? `; top cause still ${code(top)}.` : '.')
    );
  }

  /** Resolves when every note and triage this receiver started has finished. */
  async idle(): Promise<void> {
    while (this.background.size) await Promise.allSettled([...this.background]);
  }

  /** Takes no new alerts (503); what was started goes on (idle() says when it is done). */
  drain(): void {
    this.draining = true;
  }

  /** Cancels the resolved-note reads and waits for the rest. */
  async close(): Promise<void> {
    await this.idle();
  }
}

/** The token from the environment variable `alerts.tokenEnv` names, or why it cannot be used. */
export function alertToken(settings: AlertsSettings, env: NodeJS.ProcessEnv = process.env): { token: string } | { problem: string } {
  const token = env[settings.tokenEnv]?.trim();
  if (!token) return { problem: `alerts.tokenEnv names ${settings.tokenEnv}, which is not set: set it to a random string of 16 characters or more (Alertmanager sends it as a bearer token).` };
  if (token.length < 16) return { problem: `${settings.tokenEnv} is shorter than 16 characters: use a long random token.` };
  return { token };
}
