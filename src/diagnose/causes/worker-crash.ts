/** worker_crash: PHP-FPM workers exit on a signal mid-request (segfault, OOM kill, someone's kill). */
import { accessItem, claim, type CauseDefinition } from '../claim.js';
import { plural } from '../facts.js';
import type { EvidenceItem } from '../types.js';
import { AMBIGUOUS_RESET, resetEvidence } from './worker-gone.js';

export const workerCrash: CauseDefinition = {
  id: 'worker_crash',
  words: 'PHP-FPM workers crashed',
  runbookStep: 'locate-crash',
  rule: (f) => {
    const reset = resetEvidence(f);
    const signals = f.evidence.fpmLog?.signals ?? [];
    const killedByFpm = f.fpmEvents('execution_timed_out');
    // SIGTERM exits are FPM's own timeout kills when it logged "execution timed out" for them.
    const crashes = signals.reduce((n, s) => n + (s.signal === 15 ? 0 : s.count), 0) + Math.max(0, (signals.find((s) => s.signal === 15)?.count ?? 0) - killedByFpm);
    if (crashes === 0) {
      if (reset.count === 0 || f.hasFpmLog) return null;
      return claim({
        id: 'worker_crash',
        confidence: 0.35,
        summary: `PHP workers die mid-request (${plural(reset.count, 'reset')}); a crash or OOM kill is one of two likely causes.`,
        evidence: [...reset.items, ...accessItem(f, 502)],
        remedy: { text: 'Read the FPM master log (and dmesg for OOM kills) to tell a crash from a timeout kill.', setting: 'FPM master log' },
        toConfirm: [AMBIGUOUS_RESET],
      });
    }
    const bySignal = signals.filter((s) => s.signal !== 15 || s.count > killedByFpm).map((s) => `${s.name} × ${s.signal === 15 ? s.count - killedByFpm : s.count}`);
    const oom = signals.some((s) => s.signal === 9);
    const segv = signals.some((s) => s.signal === 11 || s.signal === 7 || s.signal === 6);
    const evidence: EvidenceItem[] = [
      { source: 'fpm.log', text: `${plural(crashes, 'worker')} exited on a signal: ${bySignal.join(', ')}`, samples: f.fpmSamples('exited_on_signal').slice(0, 2) },
      ...reset.items,
      ...accessItem(f, 502),
    ];
    const threshold = f.fpmEvents('failed_threshold');
    if (threshold) evidence.push({ source: 'fpm.log', text: `emergency_restart_threshold reached ${plural(threshold, 'time')}: FPM restarted itself` });
    return claim({
      id: 'worker_crash',
      failures: reset.sigs,
      confidence: 0.6 + (reset.count > 0 ? 0.3 : 0) + (f.count502 > 0 ? 0.05 : 0),
      summary: `PHP-FPM workers are crashing mid-request (${bySignal.join(', ')}); nginx sees the connection reset and answers 502.`,
      evidence,
      remedy: {
        text: segv
          ? 'A PHP extension or PHP itself segfaults: look for core dumps and the request that triggers it, and disable recently changed extensions (opcache JIT, xdebug, imagick...).'
          : oom
            ? 'Workers are killed with SIGKILL, usually by the kernel OOM killer: check dmesg, lower pm.max_children or memory_limit, or add memory.'
            : 'Something kills PHP workers: check who sends the signal (OOM killer, a watchdog, a deploy script).',
        setting: segv ? 'PHP extensions' : 'pm.max_children / memory_limit',
      },
    });
  },
};
