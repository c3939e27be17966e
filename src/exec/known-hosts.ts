/**
 * Host key pinning against an OpenSSH known_hosts file. ssh2 accepts any host key unless told
 * otherwise, so every connection is checked here: plain, hashed (`|1|salt|hmac`) and `[host]:port`
 * entries, wildcard patterns, and `@revoked` markers.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { wildcardMatch } from '../inventory/wildcard.js';

export interface KnownHostEntry {
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** Either comma-separated patterns or one hashed `|1|salt|hash` entry. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export type HostKeyVerdict = { status: 'match'; entry: KnownHostEntry } | { status: 'mismatch'; entries: KnownHostEntry[] } | { status: 'revoked'; entry: KnownHostEntry } | { status: 'unknown' };

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields.shift() === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return;
    entries.push({ line: index + 1, marker, hosts, keyType, key: Buffer.from(key, 'base64') });
  });
  return entries;
}

/** The name OpenSSH records for a host: `addr` on port 22, `[addr]:port` elsewhere. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function matchesHashed(hashed: string, name: string): boolean {
  const [, magic, salt, hash] = hashed.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

/** OpenSSH semantics: any negated pattern that matches vetoes the line. */
function matchesPatterns(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return matchesHashed(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    if (wildcardMatch(negated ? pattern.slice(1) : pattern, name, { caseInsensitive: true })) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Key type named inside the SSH wire-format blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Entries of the file that apply to any of the names (revoked and CA lines included). */
export function entriesFor(entries: readonly KnownHostEntry[], names: readonly string[]): KnownHostEntry[] {
  return entries.filter((e) => names.some((n) => matchesPatterns(e.hosts, n)));
}

export function verifyHostKey(entries: readonly KnownHostEntry[], names: readonly string[], blob: Buffer): HostKeyVerdict {
  const applicable = entriesFor(entries, names);
  const revoked = applicable.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const pinned = applicable.filter((e) => e.marker === null);
  const match = pinned.find((e) => e.key.equals(blob));
  if (match) return { status: 'match', entry: match };
  return pinned.length > 0 ? { status: 'mismatch', entries: pinned } : { status: 'unknown' };
}

/** Host key algorithms to offer so the server presents a key type we have pinned. */
export function hostKeyAlgorithms(entries: readonly KnownHostEntry[]): string[] {
  const algorithms = new Set<string>();
  for (const entry of entries) {
    if (entry.marker !== null) continue;
    if (entry.keyType === 'ssh-rsa') {
      algorithms.add('rsa-sha2-512').add('rsa-sha2-256').add('ssh-rsa');
    } else {
      algorithms.add(entry.keyType);
    }
  }
  return [...algorithms];
}

export function readKnownHosts(path: string): KnownHostEntry[] | null {
  try {
    return parseKnownHosts(readFileSync(path, 'utf8'));
  } catch {
    // Unreadable: the caller refuses the host with a HostKeyError naming the file.
    return null;
  }
}
