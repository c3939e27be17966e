/**
 * A Store that can be handed out before it is open: every call waits for the opening (and fails with
 * its error). `badgateway start` answers /healthz and Slack while the store opens, which on a first
 * start means creating the embedded one (seconds); /readyz says "not ready" until the store answers.
 */
import type { Store } from './types.js';

const METHODS = [
  'createApproval',
  'getApproval',
  'decideApproval',
  'expireApproval',
  'expireApprovals',
  'finishApproval',
  'listApprovals',
  'appendAudit',
  'listAudit',
  'createRunbookSession',
  'getRunbookSession',
  'updateRunbookSession',
  'listRunbookSessions',
  'claimDigestRun',
  'finishDigestRun',
  'listDigestRuns',
  'migrations',
  'interruptApprovals',
  'reclaimDigestRun',
  'renewApprovalLease',
  'setApprovalMessage',
  'hostGeneration',
  'touchHost',
] as const satisfies ReadonlyArray<keyof Store>;

// A method added to Store and not listed above fails to compile here.
type Unlisted = Exclude<keyof Store, (typeof METHODS)[number] | 'kind' | 'location' | 'close'>;
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodListed;

export function deferredStore(opening: Promise<Store>, about: Pick<Store, 'kind' | 'location'>): Store {
  const store: Record<string, unknown> = {
    kind: about.kind,
    location: about.location,
    // A store that never opened has nothing to close; its error is reported where the opening is awaited.
    close: async () => (await opening.catch(() => null))?.close(),
  };
  for (const name of METHODS) {
    store[name] = async (...args: unknown[]) => ((await opening)[name] as (...a: unknown[]) => Promise<unknown>)(...args);
  }
  return store as unknown as Store;
}
