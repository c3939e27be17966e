/** @module router: the `/502` grammar, authorization and dispatch shared by Slack and the console. */
export { createRouter, type Router, type RouterOptions } from './router.js';
export type { Command } from './grammar.js';
export { parseCommand, SLASH_COMMANDS, slashCommand, usageLine, type SlashCommand } from './commands.js';
export { ResultCache } from './results.js';
export type { AutoTriage, Plan, TriageJob } from './types.js';
