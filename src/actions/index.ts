/** @module actions: remediation with approvals (php-fpm reload/restart), verification, and the audit of remote commands. */
export { ActionService, DEFAULT_ACTIONS, newApprovalId, type ActionServiceDeps, type RequestInput } from './service.js';
export { AuditingExecutor, withActor, currentActor, AUDIT_OUTPUT_LIMIT, type AuditActor } from './audit.js';
export { ApproverDirectory, slackGroupMembers, type GroupMembers } from './directory.js';
export { ACTION_APPROVE, ACTION_DENY, approvalValue, parseApprovalValue, auditLine, displayArgv } from './messages.js';
