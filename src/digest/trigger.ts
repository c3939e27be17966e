/**
 * What fires a schedule. In the bot, node-cron 4 (`createTask` with the schedule's `timezone`,
 * `noOverlap`, and a name); in tests, a ManualTrigger whose `fire(name, at)` runs the schedule at once
 * as if its time had come. The scheduler does not know which one it has.
 */
import cron from 'node-cron';
import type { Schedule } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/index.js';

/** Called at each fire time (epoch ms of the slot, not of the moment the timer ran). */
export type FireFn = (fireTime: number) => Promise<unknown>;

export interface ScheduleTrigger {
  /** Starts firing `schedule`; returns the function that stops it. */
  arm(schedule: Schedule, fire: FireFn): () => void;
}

/** node-cron: one task per schedule, in the schedule's zone; an overlapping fire is skipped and logged. */
export function cronTrigger(logger: Logger): ScheduleTrigger {
  return {
    arm(schedule, fire) {
      const task = cron.createTask(
        schedule.cron,
        async (context) => {
          try {
            await fire(context.date.getTime());
          } catch (err) {
            logger.error({ schedule: schedule.name, err: errorMessage(err) }, 'digest run failed');
          }
        },
        {
          name: `digest:${schedule.name}`,
          ...(schedule.timezone ? { timezone: schedule.timezone } : {}),
          noOverlap: true,
          // A digest is due when the slot comes; one found late by a blocked event loop still runs (up to a minute).
          missedExecutionTolerance: 60_000,
        },
      );
      task.on('execution:overlap', (context) => {
        logger.info({ schedule: schedule.name, fireTime: context.date.toISOString() }, 'digest skipped: the previous run of this schedule is still going');
      });
      task.on('execution:missed', (context) => {
        logger.warn({ schedule: schedule.name, fireTime: context.date.toISOString() }, 'digest fire time missed (event loop blocked)');
      });
      void task.start();
      return () => {
        void task.destroy();
      };
    },
  };
}

/** Fires schedules on demand: `fire('morning', Date.UTC(...))` runs it now, as if at that time. */
export class ManualTrigger implements ScheduleTrigger {
  private readonly armed = new Map<string, FireFn>();

  arm(schedule: Schedule, fire: FireFn): () => void {
    this.armed.set(schedule.name, fire);
    return () => {
      if (this.armed.get(schedule.name) === fire) this.armed.delete(schedule.name);
    };
  }

  names(): string[] {
    return [...this.armed.keys()];
  }

  async fire(name: string, fireTime: number): Promise<unknown> {
    const fn = this.armed.get(name);
    if (!fn) throw new Error(`schedule ${name} is not armed`);
    return fn(fireTime);
  }
}
