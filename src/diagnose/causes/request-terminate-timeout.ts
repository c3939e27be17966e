/** request_terminate_timeout: PHP-FPM killed requests that ran past it; nginx saw the connection close (502). */
import { pickTerminate } from '../../analyze/config/index.js';
import { accessItem, claim, type CauseDefinition } from '../claim.js';
import { plural, seconds } from '../facts.js';
import type { EvidenceItem, Remedy } from '../types.js';
import { AMBIGUOUS_RESET, resetEvidence } from './worker-gone.js';

/**
 * Room for scripts that need `need` seconds: FPM's kill lands between T and 4T/3, so T must stay at or under what
 * pickTerminate allows for fastcgi_read_timeout (the config finding's own rule), or that timeout must grow too.
 */
function room(need: number, readTimeout: number | undefined): Pick<Remedy, 'suggested'> & { text: string } {
  if (readTimeout === undefined) return { text: `raise request_terminate_timeout to ${need}s and keep its kill (up to 4/3 of it) under fastcgi_read_timeout` };
  const max = pickTerminate(readTimeout);
  if (max !== undefined && max >= need) {
    return {
      text: `raise request_terminate_timeout to between ${need}s and ${max}s: FPM's kill then lands by ${seconds((max * 4) / 3)}, before fastcgi_read_timeout (${seconds(readTimeout)})`,
      suggested: `${need}s`,
    };
  }
  const read = Math.ceil((need * 4) / 3) + 1;
  return {
    text: `set request_terminate_timeout = ${need}s and raise fastcgi_read_timeout from ${seconds(readTimeout)} to at least ${read}s, so FPM's kill (by ${seconds((need * 4) / 3)}) lands before nginx gives up`,
    suggested: `${need}s, with fastcgi_read_timeout ${read}s`,
  };
}

export const requestTerminateTimeout: CauseDefinition = {
  id: 'request_terminate_timeout',
  words: 'PHP-FPM killed requests at request_terminate_timeout',
  runbookStep: 'locate-terminate',
  rule: (f) => {
    const reset = resetEvidence(f);
    const killed = f.fpmEvents('execution_timed_out');
    const terminate = f.pool?.requestTerminateTimeout;
    if (killed === 0) {
      if (reset.count === 0 || f.hasFpmLog) return null;
      return claim({
        id: 'request_terminate_timeout',
        confidence: 0.35,
        summary: `PHP workers die mid-request (${plural(reset.count, 'reset')}); request_terminate_timeout is one of two likely causes.`,
        evidence: [...reset.items, ...accessItem(f, 502)],
        remedy: { text: 'Read the FPM master log to tell a timeout kill from a crash before changing anything.', setting: 'request_terminate_timeout' },
        toConfirm: [AMBIGUOUS_RESET],
      });
    }
    const terminations = f.evidence.fpmLog?.terminations ?? [];
    const scripts = [...new Set(terminations.map((t) => t.script).filter((s): s is string => !!s))].slice(0, 3);
    const longest = Math.max(0, ...terminations.map((t) => t.seconds ?? 0));
    const evidence: EvidenceItem[] = [
      {
        source: 'fpm.log',
        text: `FPM killed ${plural(killed, 'worker')} for running past request_terminate_timeout${scripts.length ? ` (${scripts.join(', ')})` : ''}`,
        samples: f.fpmSamples('execution_timed_out').slice(0, 2),
      },
      ...reset.items,
      ...accessItem(f, 502),
    ];
    const slow = f.slowSummary();
    if (slow) evidence.push({ source: 'slow.log', text: slow });
    const ranFor = longest || terminate;
    const advice = ranFor !== undefined ? room(Math.ceil(ranFor) + 1, f.nginx?.fastcgi_read_timeout) : undefined;
    return claim({
      id: 'request_terminate_timeout',
      failures: reset.sigs,
      confidence: 0.65 + (reset.count > 0 ? 0.25 : 0) + (f.count502 > 0 ? 0.05 : 0),
      summary: `PHP-FPM kills requests that run past request_terminate_timeout${terminate ? ` (${seconds(terminate)})` : ''}: ${plural(killed, 'kill')}, users get 502.`,
      evidence,
      remedy: {
        text: `Fix the slow script${scripts.length ? ` (${scripts[0]})` : ''}${slow ? `; ${slow}` : ''}.${advice ? ` If it must run that long, ${advice.text}.` : ''}`,
        setting: 'request_terminate_timeout',
        ...(terminate !== undefined ? { current: seconds(terminate) } : {}),
        ...(advice?.suggested ? { suggested: advice.suggested } : {}),
      },
    });
  },
};
