/**
 * @module inventory: turns what a responder typed (`web-03`, `@web`, `web-*`, `web-01,web-02`)
 * into inventory hosts. Only inventory names ever reach the executors; anything else is refused
 * here, before any connection is made.
 */
import type { Host } from '../config/index.js';
import { UsageError, printable as quoted } from '../errors.js';
import { hasWildcard, wildcardMatch } from './wildcard.js';
import { nearest } from '../suggest.js';

export { hasWildcard, wildcardMatch } from './wildcard.js';

const TARGET_RE = /^[@A-Za-z0-9._*?,-]+$/;
const MAX_TARGET_LENGTH = 256;
/** Limits on what one target may ask of the matcher (README "Command line"): refused, with the reason. */
export const TARGET_LIMITS = { patternLength: 64, wildcards: 8, entries: 32 } as const;

export class Inventory {
  readonly hosts: readonly Host[];
  private readonly byName: Map<string, Host>;

  constructor(hosts: readonly Host[]) {
    this.hosts = [...hosts].sort((a, b) => a.name.localeCompare(b.name));
    this.byName = new Map(this.hosts.map((h) => [h.name, h]));
  }

  get(name: string): Host | undefined {
    return this.byName.get(name);
  }

  groups(): Map<string, Host[]> {
    const groups = new Map<string, Host[]>();
    for (const host of this.hosts) {
      for (const group of host.groups) {
        const members = groups.get(group) ?? [];
        members.push(host);
        groups.set(group, members);
      }
    }
    return groups;
  }

  /** Resolves a target to hosts (deduplicated, in inventory order) or throws a UsageError that says why. */
  resolve(target: string): Host[] {
    const text = target.trim();
    if (text === '') throw new UsageError('No target given: name a host (web-03), a group (@web) or a glob (web-*).');
    if (text.length > MAX_TARGET_LENGTH || !TARGET_RE.test(text)) {
      throw new UsageError(`"${printable(text)}" is not a host name, group or glob: use letters, digits, . _ - and * ? for globs, @ for groups.`);
    }
    const parts = text.split(',');
    if (parts.length > TARGET_LIMITS.entries) {
      throw new UsageError(`That target lists ${parts.length} entries; at most ${TARGET_LIMITS.entries} (use a @group for more).`);
    }
    const found = new Map<string, Host>();
    for (const part of parts) {
      for (const host of this.resolveOne(part)) found.set(host.name, host);
    }
    return this.hosts.filter((h) => found.has(h.name));
  }

  private resolveOne(part: string): Host[] {
    if (part === '') throw new UsageError('Empty entry in the host list: separate names with single commas.');
    if (part.startsWith('@')) {
      const group = part.slice(1);
      const members = this.groups().get(group);
      if (!members) {
        throw new UsageError(`No group "${group}" in the inventory.${suggest(group, [...this.groups().keys()], '@')}`);
      }
      return members;
    }
    if (part.length > TARGET_LIMITS.patternLength) {
      throw new UsageError(`"${printable(part)}" is longer than ${TARGET_LIMITS.patternLength} characters: no host name is that long.`);
    }
    if (hasWildcard(part)) {
      const wildcards = [...part].filter((c) => c === '*' || c === '?').length;
      if (wildcards > TARGET_LIMITS.wildcards) {
        throw new UsageError(`"${printable(part)}" has ${wildcards} wildcards; a glob may have at most ${TARGET_LIMITS.wildcards} (web-*, web-0?).`);
      }
      const matched = this.hosts.filter((h) => wildcardMatch(part, h.name));
      if (matched.length === 0) throw new UsageError(`No host matches "${part}".`);
      return matched;
    }
    const host = this.byName.get(part);
    if (!host) {
      throw new UsageError(
        `Unknown host "${part}".${suggest(
          part,
          this.hosts.map((h) => h.name),
          '',
        )} Run \`hosts\` to list the inventory.`,
      );
    }
    return [host];
  }
}

/** Host names and patterns are quoted up to 60 characters. */
function printable(text: string): string {
  return quoted(text, 60);
}

/** " Did you mean web-03?" when a name is within a small edit distance of a known one. */
function suggest(input: string, candidates: string[], prefix: string): string {
  const best = nearest(input, candidates);
  return best !== undefined ? ` Did you mean ${prefix}${best}?` : '';
}
