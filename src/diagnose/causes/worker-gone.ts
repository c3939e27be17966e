/**
 * What request_terminate_timeout and worker_crash share: nginx prints the same lines for a worker FPM killed at
 * its timeout and for one that crashed (`recv() failed (104: Connection reset by peer)`, "prematurely closed"),
 * so both consult the FPM master log and say what would settle it when that log is missing.
 */
import type { ErrorSignature } from '../../analyze/errorlog/index.js';
import type { Facts } from '../facts.js';
import { samplesOf } from '../facts.js';
import { countOf } from '../claim.js';
import type { EvidenceItem } from '../types.js';

export const AMBIGUOUS_RESET = "The FPM master log settles it: 'execution timed out ... terminating' means request_terminate_timeout, 'exited on signal 11/9' means crashing or OOM-killed workers.";

/** nginx-side evidence of a worker that went away mid-request. */
export function resetEvidence(f: Facts): { count: number; items: EvidenceItem[]; sigs: ErrorSignature[] } {
  const sigs = f.fastcgiSignatures(['reset_by_peer', 'premature_close', 'broken_pipe']);
  const count = countOf(sigs);
  const items: EvidenceItem[] = count
    ? [{ source: 'error.log', text: `${count} × ${[...new Set(sigs.map((s) => s.kind))].join(' / ')} while reading response header (worker went away mid-request)`, samples: samplesOf(sigs) }]
    : [];
  return { count, items, sigs };
}
