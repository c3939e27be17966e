/** @module report: the renderers of a triage's Report (text, json, Slack Block Kit, console); the Report itself is triage's. */
export { renderText, sparkline } from './text.js';
export { renderJson } from './json.js';
export { scrub, scrubDeep } from './scrub.js';
