/**
 * The causes badgateway can name, one module each (its id, words, rule with confidence and remedy, and the
 * runbook step that locates it). This list is the only place they are enumerated.
 */
import type { CauseDefinition } from '../claim.js';
import type { CauseId } from '../types.js';
import { fastcgiReadTimeout } from './fastcgi-read-timeout.js';
import { fpmDown } from './fpm-down.js';
import { headerTooBig } from './header-too-big.js';
import { healthy } from './healthy.js';
import { invalidUpstreamResponse } from './invalid-upstream-response.js';
import { poolExhausted } from './pool-exhausted.js';
import { requestTerminateTimeout } from './request-terminate-timeout.js';
import { socketPermission } from './socket-permission.js';
import { upstreamConnectTimeout } from './upstream-connect-timeout.js';
import { upstreamDown } from './upstream-down.js';
import { workerCrash } from './worker-crash.js';

export { healthyCause } from './healthy.js';

export const CAUSES: readonly CauseDefinition[] = [
  socketPermission,
  fpmDown,
  headerTooBig,
  invalidUpstreamResponse,
  upstreamDown,
  upstreamConnectTimeout,
  poolExhausted,
  fastcgiReadTimeout,
  requestTerminateTimeout,
  workerCrash,
  healthy,
];

/** Each cause id in words, for the headline. */
export const CAUSE_WORDS = Object.fromEntries(CAUSES.map((c) => [c.id, c.words])) as Record<CauseId, string>;
