/**
 * A runbook step's `action` (a remediation id like `reload`) never runs anything itself: it asks
 * the approval flow (src/actions) through this port, with the runbook step and the diagnosis as
 * the reason. The request is posted in the session's thread; Approve / Deny there are the approval
 * flow's own buttons (approvers, two-person rule, expiry, verification, audit log). The session's
 * timeline reads the requests back from the store (their reason names the session), so every
 * request, decision and result appears with who and when.
 */
import type { ActionService } from '../actions/index.js';
import { code } from '../report/message.js';
import type { ClickResponder, MessageHandle, Responder } from '../chat/types.js';
import type { Approval } from '../store/types.js';
import { RUNBOOK_ACTIONS, type RunbookActionId } from './format.js';
import { noticeText } from './messages.js';
import type { TimelineEntry } from './session.js';

export interface ActionActor {
  surface: 'slack' | 'console';
  user: string;
  channel: string;
}

export interface ActionRequest {
  action: RunbookActionId;
  host: string;
  actor: ActionActor;
  sessionId: string;
  stepId: string;
  /** Why, for the approvers: the runbook step and the diagnosis. */
  reason: string;
  responder: ClickResponder;
  /** The session's thread, where the request is posted. */
  thread: MessageHandle | null;
}

export interface ActionOutcome {
  state: 'requested' | 'refused' | 'unavailable';
  /** For the timeline. */
  text: string;
  approvalId?: string;
}

export interface ActionGateway {
  request(request: ActionRequest): Promise<ActionOutcome>;
  /** What became of the session's requests (approved, denied, expired, ran), for the timeline. */
  history(sessionId: string, host: string): Promise<TimelineEntry[]>;
}

/** The marker a request's reason carries, to find it again for the timeline. */
export function sessionMarker(sessionId: string): string {
  return `runbook session ${sessionId}`;
}

/**
 * Without the approval flow (no store): what the router's "Reload php-fpm" button answers then
 * (asking is open to whoever may run commands; nothing can be approved), recorded in the timeline.
 */
export function noActionGateway(): ActionGateway {
  return {
    async request(request) {
      await request.responder.ephemeral(
        noticeText(
          `${RUNBOOK_ACTIONS[request.action].label} from chat is not available here: approvals need the bot's store, which ${code('badgateway start')} opens. For now, see ${code(`/502 fpm ${request.host}`)}.`,
        ),
      );
      return { state: 'unavailable', text: `${RUNBOOK_ACTIONS[request.action].label} not available (no approval flow without a store)` };
    },
    async history() {
      return [];
    },
  };
}

function approvalEntries(a: Approval, stepOf: (a: Approval) => string | undefined): TimelineEntry[] {
  const label = `${a.action === 'reload' ? 'Reload' : 'Restart'} of php-fpm on ${a.host} (request ${a.id}${a.dryRun ? ', dry run' : ''})`;
  const step = stepOf(a);
  const out: TimelineEntry[] = [];
  const at = (when: number, event: TimelineEntry['event'], who: string | null, text: string) => out.push({ at: when, event, who, ...(step ? { step } : {}), text });
  if (a.decidedAt !== null) {
    at(a.decidedAt, 'approval', a.decidedBy, `${label} ${a.state === 'denied' ? 'denied' : 'approved'}`);
  }
  if (a.state === 'expired') at(a.expiresAt, 'approval', null, `${label} expired without a decision`);
  if (a.finishedAt !== null && a.state === 'interrupted') {
    at(a.finishedAt, 'approval', a.decidedBy, `${label} interrupted: the bot stopped while running it; it may or may not have run`);
  }
  if (a.finishedAt !== null && (a.state === 'succeeded' || a.state === 'failed')) {
    const outcome = a.outcome ?? {};
    const exit = typeof outcome.exitCode === 'number' ? `, exit ${outcome.exitCode}` : '';
    const error = typeof outcome.error === 'string' ? `: ${outcome.error.slice(0, 200)}` : '';
    at(a.finishedAt, 'approval', a.decidedBy, `${label} ran: ${a.state}${exit}${error}`);
  }
  return out;
}

/** The approval flow of src/actions: requests are posted in the session's thread. */
export function approvalGateway(actions: ActionService): ActionGateway {
  const find = async (sessionId: string, host: string, since = 0): Promise<Approval[]> =>
    (await actions.store.listApprovals({ host, limit: 100 })).filter((a) => a.reason?.includes(sessionMarker(sessionId)) && a.requestedAt >= since);
  return {
    async request(request) {
      const started = Date.now() - 1000;
      const thread = request.thread;
      // The request message goes in the session's thread, so its Approve / Deny stay with the incident.
      const responder: Responder = {
        ephemeral: (m) => request.responder.ephemeral(m),
        post: async (m) => (thread?.threadReply ? thread.threadReply(m) : request.responder.post(m)),
      };
      const reason = `${request.reason} (${sessionMarker(request.sessionId)}, step ${request.stepId})`;
      await actions.request({ action: request.action, host: request.host, actor: request.actor, reason }, responder);
      const made = (await find(request.sessionId, request.host, started)).sort((a, b) => b.requestedAt - a.requestedAt)[0];
      return made
        ? { state: 'requested', text: `Approval requested for ${RUNBOOK_ACTIONS[request.action].label.toLowerCase()} on ${request.host} (request ${made.id})`, approvalId: made.id }
        : { state: 'refused', text: `${RUNBOOK_ACTIONS[request.action].label} could not be requested (see the reply to the requester)` };
    },
    async history(sessionId, host) {
      const stepOf = (a: Approval) => /, step ([a-z0-9-]+)\)$/.exec(a.reason ?? '')?.[1];
      return (await find(sessionId, host)).flatMap((a) => approvalEntries(a, stepOf));
    },
  };
}
