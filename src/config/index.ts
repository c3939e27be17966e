/** @module config: badgateway.yaml, validated once at start into typed objects. */
export { loadConfig, parseConfigText, defaultCatalogDir, defaultRunbooksDir, DEFAULT_CONFIG_FILE, DEFAULT_DRAIN_TIMEOUT_MS, BUILT_IN_CONFIG } from './load.js';
export type { Config, Host, SshSettings, LoadOptions, AlertsSettings, AlertTrigger } from './load.js';
export type { Sources, Schedule, SlackSettings } from './schema.js';
export { HOST_NAME_RE } from './schema.js';
export { parseDuration, parseSize, formatDuration } from './units.js';
export { parseWindowEnd, parseWindowOptions, resolveWindowEnd, describeWindow, describeSpan, UNTIL_EXAMPLE, WINDOW_END_CHARS_RE } from './window.js';
export type { WindowEnd, WindowOptions } from './window.js';
