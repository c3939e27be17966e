/** @module alerts: Alertmanager's webhook → triage in Slack, and the bot's HTTP endpoint table. */
export { AlertReceiver, AlertThreads, ALERTMANAGER_PATH, alertToken, type AlertAction, type AlertResult, type AlertResponse, type AlertThread } from './receiver.js';
export { parseAlertmanager, labelsFingerprint, type Alert, type AlertmanagerPayload } from './alertmanager.js';
export { matchAlertHost, stripPort, type HostMatch } from './hosts.js';
export { createEndpoints, type Endpoints, type EndpointsOptions } from './endpoints.js';
