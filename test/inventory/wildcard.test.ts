/**
 * Target globs are matched without regular expressions (src/inventory/wildcard.ts): the answers agree
 * with a reference matcher, and adversarial patterns (the backtracking kind: `***…Z`) against a few
 * hundred host names are answered within a budget a loaded machine keeps.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { UsageError } from '../../src/errors.js';
import { Inventory, TARGET_LIMITS, wildcardMatch } from '../../src/inventory/index.js';
import { seededRandom } from '../support/random.js';

/** Reference: dynamic programming over (pattern, text) positions; slow but plainly right. */
function reference(pattern: string, text: string): boolean {
  const m = pattern.length;
  const n = text.length;
  let row = Array<boolean>(n + 1).fill(false);
  row[0] = true;
  for (let i = 1; i <= m; i++) {
    const next = Array<boolean>(n + 1).fill(false);
    const c = pattern[i - 1];
    next[0] = row[0]! && c === '*';
    for (let j = 1; j <= n; j++) {
      next[j] = c === '*' ? next[j - 1]! || row[j]! : row[j - 1]! && (c === '?' || c === text[j - 1]);
    }
    row = next;
  }
  return row[n]!;
}

const ALPHABET = 'web-0123.prodxZ*?';

describe('wildcardMatch', () => {
  it('matches * and ? as globs do, anchored at both ends', () => {
    expect(wildcardMatch('web-*', 'web-03')).toBe(true);
    expect(wildcardMatch('web-0?', 'web-03')).toBe(true);
    expect(wildcardMatch('web-0?', 'web-031')).toBe(false);
    expect(wildcardMatch('*-03', 'web-03')).toBe(true);
    expect(wildcardMatch('*', '')).toBe(true);
    expect(wildcardMatch('?', '')).toBe(false);
    expect(wildcardMatch('w*b*3', 'web-03')).toBe(true);
    expect(wildcardMatch('web.*', 'webx03')).toBe(false); // `.` is a character, not "any"
    expect(wildcardMatch('WEB-*', 'web-03')).toBe(false);
    expect(wildcardMatch('WEB-*', 'web-03', { caseInsensitive: true })).toBe(true);
  });

  it('agrees with a reference matcher on 5,000 random pattern/name pairs (seed 16)', () => {
    const random = seededRandom(16);
    const word = (max: number) => Array.from({ length: Math.floor(random() * max) }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join('');
    for (let i = 0; i < 5000; i++) {
      const pattern = word(12);
      const text = word(14).replace(/[*?]/g, 'x');
      expect(wildcardMatch(pattern, text), `${pattern} ~ ${text}`).toBe(reference(pattern, text));
    }
  });
});

describe('target limits and adversarial globs', () => {
  const random = seededRandom(502);
  const hostNames = Array.from({ length: 300 }, (_, i) => {
    const label = Array.from({ length: 4 + Math.floor(random() * 8) }, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 26)]).join('');
    return `${label}-${String(i).padStart(3, '0')}.prod.example.internal`.slice(0, 63);
  });
  hostNames.push('web-01.prod.example.internal');
  const yaml = `hosts:\n${hostNames.map((n) => `  ${n}: { groups: [fleet] }`).join('\n')}\n`;
  const inventory = new Inventory(parseConfigText(yaml, 'fleet.yaml', {}).hosts);

  /** The fastest of three answers (a loaded machine's pauses are not the matcher's), in ms. */
  function answerMs(target: string): number {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      try {
        inventory.resolve(target);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
      }
      best = Math.min(best, performance.now() - started);
    }
    return best;
  }

  it('refuses patterns over the limits with a reason', () => {
    expect(() => inventory.resolve(`${'*'.repeat(24)}Z`)).toThrow(`has 24 wildcards; a glob may have at most ${TARGET_LIMITS.wildcards}`);
    expect(() => inventory.resolve('a'.repeat(65))).toThrow(`longer than ${TARGET_LIMITS.patternLength} characters`);
    expect(() => inventory.resolve(Array(33).fill('web-*').join(','))).toThrow(`at most ${TARGET_LIMITS.entries}`);
    // Within the limits a glob still works.
    expect(inventory.resolve('web-0?.prod.*').map((h) => h.name)).toEqual(['web-01.prod.example.internal']);
  });

  it('answers each of 200 adversarial targets against 301 hosts in under 50 ms (seed 502)', () => {
    const fuzz = seededRandom(7);
    const pick = (s: string) => s[Math.floor(fuzz() * s.length)]!;
    const targets = [
      `${'*'.repeat(24)}Z`, // the probe's pattern
      `${'*'.repeat(8)}Z`,
      `${'*a'.repeat(8)}Z`,
      `${'?*'.repeat(4)}${'x'.repeat(50)}`,
      `w*e*b*-*0*1*.*p*Z`,
      Array(32)
        .fill(`${'*'.repeat(8)}Z`)
        .join(','),
      Array(32).fill('x'.repeat(64)).join(',').slice(0, 256),
    ];
    while (targets.length < 200) {
      const length = 1 + Math.floor(fuzz() * 80);
      targets.push(Array.from({ length }, () => pick('*?*?ae-.0Z*')).join(''));
    }
    let slowest = { target: '', ms: 0 };
    for (const target of targets) {
      const ms = answerMs(target);
      if (ms > slowest.ms) slowest = { target, ms };
    }
    console.log(`adversarial targets: slowest ${slowest.ms.toFixed(2)} ms (${slowest.target.slice(0, 40)})`);
    expect(slowest.ms, slowest.target).toBeLessThan(50);
  });
});

describe('known_hosts patterns use the same matcher', () => {
  it('matches OpenSSH wildcards without case, and a negation vetoes the line', async () => {
    const { entriesFor, parseKnownHosts } = await import('../../src/exec/known-hosts.js');
    const key = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C7okWi0dh2l9GKJl';
    const entries = parseKnownHosts(`*.Prod.example.com,!db-?.prod.example.com ssh-ed25519 ${key}\n`);
    expect(entriesFor(entries, ['web-01.prod.example.com'])).toHaveLength(1);
    expect(entriesFor(entries, ['db-1.prod.example.com'])).toHaveLength(0);
    expect(entriesFor(entries, ['web-01.staging.example.com'])).toHaveLength(0);
  });
});
