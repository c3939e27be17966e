/** What the runbook service (src/runbook/service.ts) offers the router, and what it is built from. */
import type { Services } from '../app/services.js';
import type { Actor, Click, ClickResponder, MessageHandle, Responder } from '../chat/types.js';
import type { Logger } from '../log/index.js';
import type { TriageResult } from '../triage/types.js';
import type { ActionGateway } from './actions.js';
import type { Runbook } from './format.js';
import type { Session } from './session.js';
import type { RunbookSessionStore } from './store.js';

export interface RunbookServiceOptions {
  services: Pick<Services, 'config' | 'inventory' | 'catalog' | 'executor' | 'triage'>;
  store: RunbookSessionStore;
  runbooks: Map<string, Runbook>;
  logger: Logger;
  /** Where a step's `action` goes (the approval flow); default: explains it is not available. */
  actions?: ActionGateway;
  now?: () => number;
}

export interface StartInput {
  actor: Actor;
  host: string;
  /** The triage the branches are decided on (its host's report). */
  result: TriageResult;
  sinceMs: number;
  /** The window's end for a post-mortem runbook (`--until`); absent: re-runs end now. */
  untilMs?: number;
  runbook?: string;
  /** The message whose thread holds the session (the triage verdict); null: a new message is posted. */
  thread: MessageHandle | null;
  responder: Responder;
}

export interface RunbookService {
  readonly runbooks: ReadonlyMap<string, Runbook>;
  /** Whether a button action id is one of the runbook step buttons. */
  handles(action: string): boolean;
  /** The active session of this host in this channel, if any. */
  activeFor(channel: string, host: string): Promise<Session | null>;
  start(input: StartInput): Promise<Session | null>;
  /** Re-posts the current step of an active session in its thread (after a restart, or when asked again). */
  resume(session: Session, actor: Actor, responder: Responder): Promise<void>;
  click(click: Click, responder: ClickResponder): Promise<void>;
  /** Posts the session's timeline as a Markdown file: by id, else the latest session of the channel. */
  timeline(actor: Actor, sessionId: string | null, responder: Responder): Promise<void>;
}
