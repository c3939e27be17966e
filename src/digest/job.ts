/**
 * `/502 digest [TARGET] [--since D]` as a router job: the target (else this channel's schedule's
 * targets) is checked while planning, so a bad one is a usage reply and nothing runs; the job posts a
 * progress message, collects, replaces it with the digest and puts the chart under it.
 */
import type { Config, Schedule } from '../config/index.js';
import { describeSpan, resolveWindowEnd, type WindowEnd } from '../config/index.js';
import { UsageError, errorMessage } from '../errors.js';
import type { Inventory } from '../inventory/index.js';
import type { Logger } from '../log/index.js';
import { bold, esc } from '../report/message.js';
import { scrub } from '../report/scrub.js';
import { ProgressState, cancelledMessage, noticeMessage } from '../chat/messages.js';
import { ThrottledUpdates } from '../chat/throttle.js';
import type { MessageHandle, Responder } from '../chat/types.js';
import type { TriageRequest, TriageResult } from '../triage/types.js';
import { createDigests, type Digests } from './digests.js';
import type { ChartUpload } from './scheduler.js';

export const DEFAULT_DIGEST_SINCE_MS = 24 * 3_600_000;
const MAX_SINCE_MS = 7 * 86_400_000;

export interface DigestJobInput {
  command: { target: string | null; sinceMs: number | null; until?: WindowEnd | null };
  channel: string;
  requestedBy: string;
  config: Pick<Config, 'schedules'>;
  inventory: Pick<Inventory, 'resolve'>;
  triage: (request: TriageRequest) => Promise<TriageResult>;
  /** The bot's digests (with the store's history); absent: one without history. */
  digests?: Digests;
  logger: Logger;
  updateIntervalMs?: number;
  /** How it ended, for metrics. */
  onFinished?: (outcome: 'ok' | 'partial' | 'failed', seconds: number) => void;
}

export interface DigestJob {
  target: string;
  run(responder: Responder, signal: AbortSignal): Promise<void>;
}

/** The schedule a channel's `/502 digest` stands for: the one posting in that channel, else the only one. */
export function scheduleFor(config: Pick<Config, 'schedules'>, channel: string): Schedule | null {
  return config.schedules.find((s) => s.channel === channel) ?? (config.schedules.length === 1 ? config.schedules[0]! : null);
}

/** Plans the job; throws a UsageError (nothing runs) when there is no target or it names no host. */
export function planDigestJob(input: DigestJobInput): DigestJob {
  const schedule = input.command.target === null ? scheduleFor(input.config, input.channel) : null;
  const target = input.command.target ?? schedule?.targets.join(',');
  if (!target) {
    throw new UsageError('`digest` needs a target here (no schedule posts in this channel): /502 digest @web [--since 24h] [--until TIME].');
  }
  input.inventory.resolve(target);
  const digests = input.digests ?? createDigests({ triage: input.triage, store: null, logger: input.logger });
  return {
    target,
    async run(responder, signal) {
      const started = Date.now();
      const log = input.logger.child({ job: 'digest', target, channel: input.channel });
      let sinceMs = input.command.sinceMs;
      const until = input.command.until ?? null;
      const untilMs = until ? resolveWindowEnd(until, started) : null;
      // A post-mortem window is compared with nothing: the stored digests describe the present.
      const previous = until
        ? null
        : await digests.previous(schedule ? { schedule: schedule.name } : { target }).catch((err: unknown) => {
            // Without the last digest this one compares with nothing and uses the default window: said in the log.
            log.warn({ err: errorMessage(err) }, 'could not read the previous digest; comparing with nothing');
            return null;
          });
      if (sinceMs === null) {
        sinceMs = previous ? Math.min(MAX_SINCE_MS, Math.max(60_000, Date.now() - previous.window.to)) : (schedule?.window ?? DEFAULT_DIGEST_SINCE_MS);
      }
      const hosts = input.inventory.resolve(target).map((h) => h.name);
      const state = new ProgressState(`Digest of ${target}`, describeSpan(Math.round(sinceMs / 60_000) * 60_000 || 60_000, untilMs), input.requestedBy, hosts);
      let handle: MessageHandle;
      try {
        handle = await responder.post(state.message());
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'could not post the digest progress message');
        input.onFinished?.('failed', (Date.now() - started) / 1000);
        await responder
          .ephemeral(noticeMessage(`⚠️ I could not post in this channel: ${esc(errorMessage(err))}`))
          .catch((notice: unknown) => log.warn({ err: errorMessage(notice) }, 'could not tell the requester either'));
        return;
      }
      const updates = new ThrottledUpdates(handle, input.updateIntervalMs ?? 1500, (err) => log.warn({ err: errorMessage(err) }, 'progress update failed'));
      let outcome: 'ok' | 'partial' | 'failed' = 'failed';
      try {
        const composed = await digests.compose({
          target,
          sinceMs,
          ...(untilMs !== null ? { untilMs } : {}),
          schedule: null,
          // Hours in the zone of the schedule posting here (the team's), else UTC.
          timeZone: (schedule ?? scheduleFor(input.config, input.channel))?.timezone ?? 'UTC',
          previous,
          signal,
          onProgress: (event) => {
            state.apply(event);
            updates.push(state.message());
          },
        });
        await updates.finish(composed.message);
        if (composed.chart) {
          const upload: ChartUpload = { ...composed.chart, inChannel: true };
          await handle.upload(upload).catch((err) => log.warn({ err: errorMessage(err) }, 'digest chart upload failed'));
        }
        outcome = composed.digest.unreachable.length === 0 ? 'ok' : composed.digest.unreachable.length === composed.digest.fleet.hosts ? 'failed' : 'partial';
        log.info({ ms: Date.now() - started, hosts: composed.digest.fleet.hosts, quiet: composed.digest.quiet }, 'digest posted');
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'digest failed');
        await updates.finish(signal.aborted ? cancelledMessage(`Digest of ${target}`) : noticeMessage(`❌ ${bold(`Digest of ${esc(target)} failed`)}: ${esc(scrub(errorMessage(err)))}`));
      } finally {
        input.onFinished?.(outcome, (Date.now() - started) / 1000);
      }
    },
  };
}
