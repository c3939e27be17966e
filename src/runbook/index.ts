/** @module runbook: Markdown runbooks, sessions walked step by step in an incident thread, and their timeline. */
export { loadRunbooks, parseRunbook, VIEWS, RUNBOOK_ACTIONS, PLACEHOLDERS, type Runbook, type RunbookStep, type Condition, type StepCheck } from './format.js';
export { createRunbookService, DEFAULT_RUNBOOK, type RunbookService, type RunbookServiceOptions, type StartInput } from './service.js';
export { MemoryRunbookSessionStore, type RunbookSessionStore } from './store.js';
export { approvalGateway, noActionGateway, type ActionGateway, type ActionRequest, type ActionOutcome } from './actions.js';
export { renderTimeline, timelineFilename } from './timeline.js';
export { RUNBOOK_STEP_ACTIONS, parseStepButtonValue } from './messages.js';
export type { Session, SessionState, CheckResult, TimelineEntry } from './session.js';
