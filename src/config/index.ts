/** @module config: badgateway.yaml, validated once at start into typed objects. */
export { loadConfig, parseConfigText, defaultCatalogDir, DEFAULT_CONFIG_FILE } from './load.js';
export type { Config, Host, SshSettings, LoadOptions } from './load.js';
export type { Sources, Schedule, SlackSettings } from './schema.js';
export { HOST_NAME_RE } from './schema.js';
export { parseDuration, parseSize, formatDuration } from './units.js';
