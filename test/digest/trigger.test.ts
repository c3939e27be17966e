/**
 * The real node-cron trigger: a schedule armed with a seconds field fires within a second or two, with
 * the slot's time (a whole second, in the past), and a fire that comes while the previous one is still
 * running is skipped by node-cron's noOverlap and logged.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/config/index.js';
import { cronTrigger } from '../../src/digest/index.js';
import { createLogger } from '../../src/log/index.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk, _e, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    }),
  });
  return { logger, lines };
}

const everySecond: Schedule = { name: 'tick', cron: '* * * * * *', timezone: 'Europe/Berlin', targets: ['web-1'] };

describe('cronTrigger (node-cron 4)', () => {
  it('fires at the slot time in the schedule zone, and skips an overlapping fire with a log line', async () => {
    const { logger, lines } = capture();
    const fired: Array<{ slot: number; at: number }> = [];
    const disarm = cronTrigger(logger).arm(everySecond, async (slot) => {
      fired.push({ slot, at: Date.now() });
      // Longer than the period: the next two seconds' fires overlap this one.
      await new Promise((r) => setTimeout(r, 2300));
    });
    try {
      const deadline = Date.now() + 6000;
      while (Date.now() < deadline && !(fired.length >= 1 && lines.some((l) => l.includes('still going')))) await new Promise((r) => setTimeout(r, 50));
    } finally {
      disarm();
    }
    expect(fired.length).toBeGreaterThanOrEqual(1);
    const first = fired[0]!;
    expect(first.slot % 1000).toBe(0);
    expect(first.slot).toBeLessThanOrEqual(first.at);
    // The slot is the second this fire stands for, not a later one (the margin is for a loaded machine).
    expect(first.at - first.slot).toBeLessThan(10_000);
    const skipped = lines.filter((l) => l.includes('digest skipped: the previous run of this schedule is still going'));
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    expect(skipped[0]).toContain('"schedule":"tick"');
    // No second run started while the first was still going.
    if (fired[1]) expect(fired[1].at - first.at).toBeGreaterThanOrEqual(2000);
  });
});
