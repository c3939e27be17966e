/** @module digest: scheduled health digests (build, render, chart, schedule, exactly-once posting). */
export { buildDigest, toStored, worstHour, pressureNotable, type BuildOptions } from './build.js';
export { digestMessage, renderDigestSlack, renderDigestText, digestSummary, hourlySparkline, type DigestRenderOptions } from './render.js';
export { renderDigestChart, pngSize, loadChartEngine, CHART_WIDTH, CHART_HEIGHT, CHART_FONT } from './chart.js';
export { createDigests, type Digests, type ComposeRequest, type ComposedDigest, type ChartFile } from './digests.js';
export { memoryDigestRuns, previousDigest, storedDigestOf, type DigestRunStore } from './history.js';
export { DigestScheduler, type DigestPoster, type DigestSchedulerOptions, type RunOutcome, type ChartUpload } from './scheduler.js';
export { cronTrigger, ManualTrigger, type ScheduleTrigger } from './trigger.js';
export { responderDigestPoster, textDigestPoster } from './posters.js';
export { previousFireTime, nextFireTime, hourStart } from './time.js';
export type * from './types.js';
