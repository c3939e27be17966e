/** @module chat: the front-end port (what Slack and the console implement), who may do what, and the messages and throttled updates of a running job. */
export { authorize, type Need } from './auth.js';
export { ProgressState, cancelledMessage, noticeMessage } from './messages.js';
export { ThrottledUpdates, UpdateBudget } from './throttle.js';
export type { Actor, Click, ClickResponder, FileUpload, Invocation, MessageHandle, MessageRef, Responder, Surface } from './types.js';
