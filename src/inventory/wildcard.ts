/**
 * Glob matching (`*` any run, `?` one character) without regular expressions: a pattern typed in
 * Slack must not be able to keep the event loop busy. The classic two-pointer walk remembers only the
 * last `*`, so a match costs at most pattern × text steps (64 × 63 for a target), never a
 * backtracking explosion like `^.*.*.*…Z$` in a regex engine.
 */

export interface WildcardOptions {
  /** Compare letters without case (OpenSSH host patterns). */
  caseInsensitive?: boolean;
}

export function wildcardMatch(pattern: string, text: string, options: WildcardOptions = {}): boolean {
  const p = options.caseInsensitive ? pattern.toLowerCase() : pattern;
  const t = options.caseInsensitive ? text.toLowerCase() : text;
  let pi = 0;
  let ti = 0;
  let star = -1;
  let resume = 0;
  while (ti < t.length) {
    const c = p[pi];
    if (c === '*') {
      // Remember where the star is and first let it match nothing.
      star = pi++;
      resume = ti;
    } else if (pi < p.length && (c === '?' || c === t[ti])) {
      pi++;
      ti++;
    } else if (star >= 0) {
      // Let the last star swallow one more character and retry from just after it.
      pi = star + 1;
      ti = ++resume;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

export function hasWildcard(text: string): boolean {
  return text.includes('*') || text.includes('?');
}
