/** @module router: the `/502` grammar, authorization and dispatch shared by Slack and the console. */
export { createRouter, type Router, type RouterOptions } from './router.js';
export { parseCommand, USAGE_LINES, type Command } from './grammar.js';
export { ResultCache } from './results.js';
export type { AutoTriage, Plan, TriageJob } from './types.js';
