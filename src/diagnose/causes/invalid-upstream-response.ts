/** invalid_upstream_response: what answers on fastcgi_pass does not speak FastCGI (or the app prints before its headers). */
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { plural, samplesOf } from '../facts.js';

export const invalidUpstreamResponse: CauseDefinition = {
  id: 'invalid_upstream_response',
  words: 'The upstream does not speak the protocol nginx expects',
  runbookStep: 'fix-upstream',
  rule: (f) => {
    const sigs = f.signatures(['invalid_header', 'premature_fastcgi_stdout']);
    const count = countOf(sigs);
    if (count === 0) return null;
    return claim({
      id: 'invalid_upstream_response',
      failures: sigs,
      confidence: 0.8 + 0.15 * f.share(count),
      summary: `The upstream answered with something nginx cannot parse as a FastCGI/HTTP response (${plural(count, 'entry')}).`,
      evidence: [{ source: 'error.log', text: `${count} × ${sigs.map((s) => s.kind).join(', ')} from ${sigs[0]?.upstreams[0] ?? 'the upstream'}`, samples: samplesOf(sigs) }, ...accessItem(f, 502)],
      remedy: {
        text: 'Check that fastcgi_pass points at PHP-FPM and not at an HTTP server or another service on that port, and that the application prints nothing before its headers.',
        setting: 'fastcgi_pass',
      },
    });
  },
};
