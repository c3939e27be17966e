/** header_too_big: the response headers do not fit fastcgi_buffer_size ("upstream sent too big header"). */
import { bufferSuggestion } from '../../analyze/config/index.js';
import { accessItem, claim, countOf, type CauseDefinition } from '../claim.js';
import { plural, samplesOf } from '../facts.js';

export const headerTooBig: CauseDefinition = {
  id: 'header_too_big',
  words: "Response headers too big for nginx's buffer",
  runbookStep: 'fix-headers',
  rule: (f) => {
    const sigs = f.signatures(['too_big_header']);
    const count = countOf(sigs);
    if (count === 0) return null;
    const current = f.nginx?.fastcgi_buffer_size;
    // The same suggestion as the buffer_vs_header_size finding (nginx's 4k page is the default).
    const advice = bufferSuggestion(current ?? 4 * 1024, f.nginx?.fastcgi_buffers);
    const suggested = `${advice.next / 1024}k`;
    const uris = f.evidence.joins?.find((j) => j.kind === 'too_big_header')?.topUris ?? [];
    return claim({
      id: 'header_too_big',
      failures: sigs,
      confidence: 0.9 + 0.08 * f.share(count),
      summary: `The application sends response headers larger than nginx's buffer: ${plural(count, '"upstream sent too big header"')}.`,
      evidence: [
        { source: 'error.log', text: `${count} × upstream sent too big header while reading response header from upstream`, samples: samplesOf(sigs) },
        ...accessItem(f, 502, uris.length ? `; e.g. ${uris.map((u) => u.uri).join(', ')}` : ''),
        ...(current !== undefined ? [{ source: 'nginx-config' as const, text: `fastcgi_buffer_size is ${current / 1024}k` }] : []),
      ],
      remedy: {
        text: `Raise fastcgi_buffer_size to ${suggested}${advice.buffersLine ? ` (and ${advice.buffersLine}, which nginx -t requires with it)` : ''} in the PHP location, then reload nginx; also check why the app sends such headers (large Set-Cookie, CSP or Link headers).`,
        setting: 'fastcgi_buffer_size',
        ...(current !== undefined ? { current: `${current / 1024}k` } : {}),
        suggested,
      },
    });
  },
};
