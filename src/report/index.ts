/** @module report: the Report type and its renderers (text, json; Slack comes with the Slack app). */
export type { Report, SourceStatus, SourceKey } from './types.js';
export { renderText, sparkline } from './text.js';
export { renderJson } from './json.js';
export { scrub, scrubDeep } from './scrub.js';
