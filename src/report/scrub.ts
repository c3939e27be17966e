/**
 * Log lines shown to people are scrubbed of credentials they may carry: query-string tokens,
 * cookies and Authorization values. Applied to every string of a report before it is rendered.
 */

const SECRET_PARAM = /([?&;](?:[\w.-]*(?:token|key|secret|password|passwd|pwd|auth|session|sessid|sig|signature|code|ticket|jwt|credential)[\w.-]*)=)[^&\s"';]+/gi;
const AUTH_HEADER = /\b(authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|digest|token)\s+)?[^"'\s,;]+/gi;
const COOKIE = /\b(cookie|set-cookie)(["']?\s*[:=]\s*["']?)[^"\n]*/gi;
const BEARER = /\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const REDACTED = '[redacted]';

export function scrub(text: string): string {
  return text
    .replace(SECRET_PARAM, `$1${REDACTED}`)
    .replace(AUTH_HEADER, `$1$2${REDACTED}`)
    .replace(COOKIE, `$1$2${REDACTED}`)
    .replace(BEARER, `$1 ${REDACTED}`);
}

/** Returns a deep copy with every string scrubbed. */
export function scrubDeep<T>(value: T): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v)])) as T;
  }
  return value;
}
