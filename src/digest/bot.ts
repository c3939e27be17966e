/**
 * The bot's side of digests (`badgateway start`): arms every schedule of the config on node-cron,
 * posts through the front end's poster, counts posted digests, and catches up a digest missed while
 * no instance ran. Returns null when the config has no schedules.
 */
import type { Config } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { Digests } from './digests.js';
import { DigestScheduler, type DigestPoster } from './scheduler.js';

export interface StartDigestsOptions {
  config: Pick<Config, 'schedules' | 'slack'>;
  digests: Digests;
  poster: DigestPoster;
  logger: Logger;
  /** Counter of posted digests (src/metrics). */
  onPosted?: (schedule: string) => void;
}

export function startDigestSchedules(options: StartDigestsOptions): DigestScheduler | null {
  const { config, logger } = options;
  if (config.schedules.length === 0) return null;
  const scheduler = new DigestScheduler({
    schedules: config.schedules,
    digests: options.digests,
    poster: options.poster,
    logger: logger.child({ component: 'digest' }),
    defaultChannel: config.slack.channels[0] ?? null,
    onPosted: (schedule) => options.onPosted?.(schedule.name),
  });
  if (!options.digests.store) logger.warn('digests run without a store: no history to compare with and no lease across replicas');
  // Arming is immediate; the catch-up of a missed digest runs in the background.
  scheduler.start().catch((err) => logger.error({ err: errorMessage(err) }, 'digest schedules could not start'));
  return scheduler;
}
