/**
 * Harder incidents than one fault at a time, driven for real on the lab: two causes at once, a failure that
 * stopped inside steady traffic, a handful of failures among thousands of requests, two pools with one down.
 * Each returns the real evidence (like scenarios.ts); test/diagnose/hard-lab.test.ts holds their verdicts.
 * Time zones, a stopped nginx with old logs and a rotation mid-incident are driven over SSH in
 * test/triage/ (they need the host's own clock and remote reads).
 */
import { sleep, type Lab, type LabOptions } from './lab.js';
import { normalTraffic, runScenario, statuses, type ScenarioResult } from './scenarios.js';

export interface HardScenario {
  name: string;
  labOptions: Partial<LabOptions>;
  run: (lab?: Lab) => Promise<ScenarioResult>;
}

/** `n` requests to `path`, `perSecond` at a time each second: traffic that goes on, not one burst. */
async function steady(lab: Lab, path: string, seconds: number, perSecond: number): Promise<number> {
  let served = 0;
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const tick = Date.now();
    served += (await lab.requestMany(path, perSecond, perSecond)).length;
    await sleep(Math.max(0, 1000 - (Date.now() - tick)));
  }
  return served;
}

const poolAndReadTimeoutsOptions: Partial<LabOptions> = { pm: 'dynamic', maxChildren: 2, listenBacklog: 2, fastcgiReadTimeout: 1.5, requestTerminateTimeout: 0 };

/** Slow requests time out one pair at a time, then a burst fills the pool and the socket's backlog. */
function poolAndReadTimeouts(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('pool_and_read_timeouts', 'pool_exhausted', poolAndReadTimeoutsOptions, lab, async (lab, ctx) => {
    await normalTraffic(lab, ctx);
    for (let i = 0; i < 3; i++) ctx.track(await lab.requestMany('/sleep.php?s=2.5', 2, 2));
    await sleep(1200); // the abandoned scripts finish, the workers are free again
    const burst = ctx.track(await lab.requestMany('/sleep.php?s=3', 14, 14));
    ctx.notes.push(`burst of 14 sleep.php?s=3 on 2 workers: ${statuses(burst)}`);
    await lab.waitForLog('fpmLog', 'max_children', 2500);
  });
}

const restartOptions: Partial<LabOptions> = { fpmListen: 'unix' };

/** About 8 requests a second; PHP-FPM is stopped for a second and started again; traffic goes on for 35 s. */
function shortRestart(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('short_fpm_restart', 'fpm_down', restartOptions, lab, async (lab, ctx) => {
    await steady(lab, '/ok.php', 3, 8);
    await lab.stopFpm('SIGTERM');
    const down = ctx.track(await lab.requestMany('/ok.php', 8, 4));
    ctx.notes.push(`with FPM stopped: ${statuses(down)}`);
    await lab.startFpm();
    const after = await steady(lab, '/ok.php', 35, 8);
    ctx.notes.push(`${after} requests after the restart`);
  });
}

/** 2,000 good requests and three that crash their worker (SIGSEGV). */
function threeAmongThousands(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('three_failures_among_2000', 'worker_crash', {}, lab, async (lab, ctx) => {
    ctx.track(await lab.requestMany('/static.txt', 1000, 16));
    for (let i = 0; i < 3; i++) ctx.track(await lab.request('/crash.php?sig=SEGV'));
    ctx.track(await lab.requestMany('/ok.php', 1000, 16));
    await lab.waitForLog('fpmLog', /(exited on signal 11[^]*){3}/, 3000);
  });
}

const twoPoolsOptions: Partial<LabOptions> = { deadPool: true };

/** The site's pool serves; the `/api/` pool's PHP-FPM is not running. */
function twoPoolsOneDown(lab?: Lab): Promise<ScenarioResult> {
  return runScenario('two_pools_one_down', 'fpm_down', twoPoolsOptions, lab, async (lab, ctx) => {
    ctx.track(await lab.requestMany('/ok.php', 12, 3));
    const api = ctx.track(await lab.requestMany('/api/ok.php', 4, 2));
    ctx.notes.push(`/api/ with its pool down: ${statuses(api)}`);
    ctx.track(await lab.requestMany('/ok.php', 6, 3));
  });
}

export const HARD_SCENARIOS: HardScenario[] = [
  { name: 'pool_and_read_timeouts', labOptions: poolAndReadTimeoutsOptions, run: poolAndReadTimeouts },
  { name: 'short_fpm_restart', labOptions: restartOptions, run: shortRestart },
  { name: 'three_failures_among_2000', labOptions: {}, run: threeAmongThousands },
  { name: 'two_pools_one_down', labOptions: twoPoolsOptions, run: twoPoolsOneDown },
];
