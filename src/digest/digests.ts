/**
 * The digest use case: triage the target over the window (the existing triage: windowed reads, hosts
 * in parallel), build the digest against the previous stored one, render the message and the chart.
 * Shared by the scheduler, `/502 digest` and `badgateway digest`; posting is the caller's.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Message } from '../report/message.js';
import type { TriageProgress, TriageRequest, TriageResult } from '../triage/types.js';
import { buildDigest } from './build.js';
import { CHART_HEIGHT, CHART_WIDTH, renderDigestChart } from './chart.js';
import { previousDigest, type DigestRunStore } from './history.js';
import { digestMessage, digestSummary, hourlySparkline } from './render.js';
import { clock } from './time.js';
import type { Digest, StoredDigest } from './types.js';

export interface DigestsDeps {
  triage: (request: TriageRequest) => Promise<TriageResult>;
  /** History for the change arrows and FPM counter deltas; null: no comparison. */
  store: DigestRunStore | null;
  logger: Logger;
  /** Draw the PNG (default true); false: the sparkline stands in, as where images are off. */
  images?: boolean;
  /** The chart renderer (tests may swap it); default renderDigestChart. */
  renderChart?: (digest: Digest) => Promise<Buffer>;
}

export interface ComposeRequest {
  /** A target as typed: name, @group, glob or comma list. */
  target: string;
  sinceMs: number;
  /** The window's end (`--until`); absent: now. */
  untilMs?: number;
  schedule?: string | null;
  timeZone?: string;
  fireTime?: number;
  lateNote?: string | null;
  /** The digest to compare with; undefined: looked up (by schedule, else by target). */
  previous?: StoredDigest | null;
  signal?: AbortSignal;
  onProgress?: (event: TriageProgress) => void;
}

/** The digest's reads were cancelled (the bot is stopping, or the run took too long): there is no digest. */
export class DigestCancelled extends Error {
  constructor() {
    super('cancelled: its reads did not finish, so there is no digest');
    this.name = 'DigestCancelled';
  }
}

export interface ChartFile {
  filename: string;
  title: string;
  /** PNG bytes. */
  data: Buffer;
  /** What a front end without images shows instead: the hourly sparkline. */
  content: string;
  comment: string;
}

export interface ComposedDigest {
  digest: Digest;
  previous: StoredDigest | null;
  result: TriageResult;
  /** With `images`: the message says a chart follows; without, it carries the sparkline. */
  message: Message;
  chart: ChartFile | null;
  /** Why there is no chart where one was wanted (the sparkline is in the message then). */
  chartError: string | null;
}

export interface Digests {
  compose(request: ComposeRequest): Promise<ComposedDigest>;
  previous(query: { schedule?: string | null; target?: string }): Promise<StoredDigest | null>;
  readonly store: DigestRunStore | null;
}

export function createDigests(deps: DigestsDeps): Digests {
  const images = deps.images ?? true;
  const draw = deps.renderChart ?? ((d: Digest) => renderDigestChart(d));
  const previous = (query: { schedule?: string | null; target?: string }) => previousDigest(deps.store, query);
  return {
    store: deps.store,
    previous,
    async compose(request) {
      const before = request.previous !== undefined ? request.previous : await previous({ schedule: request.schedule ?? null, target: request.target });
      const result = await deps.triage({
        target: request.target,
        sinceMs: request.sinceMs,
        ...(request.untilMs !== undefined ? { untilMs: request.untilMs } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      });
      // Cancelled reads are not evidence: a digest built from them would report hosts unreachable and
      // traffic gone, and become the history the next one compares with.
      if (request.signal?.aborted) throw new DigestCancelled();
      const digest = buildDigest(result, before, {
        schedule: request.schedule ?? null,
        timeZone: request.timeZone ?? 'UTC',
        ...(request.fireTime !== undefined ? { fireTime: request.fireTime } : {}),
        lateNote: request.lateNote ?? null,
      });
      let chart: ChartFile | null = null;
      let chartError: string | null = null;
      if (images && !digest.quiet) {
        try {
          const data = await draw(digest);
          const stamp = clock(digest.window.to, digest.timeZone).replace(':', '');
          chart = {
            filename: `digest-${digest.target.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.png`,
            title: `Requests and 502/504 per hour: ${digest.target}`,
            data,
            content: hourlySparkline(digest).join('\n'),
            comment: digestSummary(digest),
          };
        } catch (err) {
          chartError = errorMessage(err);
          deps.logger.warn({ err: chartError }, 'digest chart could not be drawn; sending the sparkline instead');
        }
      }
      return { digest, previous: before, result, message: digestMessage(digest, { images: chart !== null }), chart, chartError };
    },
  };
}

export { CHART_HEIGHT, CHART_WIDTH };
