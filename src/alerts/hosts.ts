/**
 * Which inventory host an alert is about. The label (`instance` by default) is what Prometheus
 * scraped: `web-03:9113`, `10.0.0.13:4040`, `[2001:db8::13]:9253`, `web-03.example.com:9100`. The
 * port is stripped, then the rest is matched against inventory names, then addresses, then (for a
 * dotted DNS name) its first label against names. Nothing that is not an inventory host comes out.
 */
import type { Host } from '../config/index.js';
import type { Inventory } from '../inventory/index.js';

export type HostMatch = { ok: true; host: Host; via: 'name' | 'address' | 'short name' } | { ok: false; reason: string };

const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const PLAIN_RE = /^[A-Za-z0-9._:%-]+$/;

/** `host:port` → `host`; `[v6]:port` and `[v6]` → `v6`; a bare IPv6 address or a name is left as is. */
export function stripPort(value: string): string {
  const text = value.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) return bracketed[1]!;
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = text.split(':') as [string, string];
    if (/^\d{1,5}$/.test(port)) return host;
  }
  return text;
}

function unbracket(address: string): string {
  return address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

export function matchAlertHost(value: string | undefined, inventory: Inventory, labelName = 'instance'): HostMatch {
  if (value === undefined || value.trim() === '') return { ok: false, reason: `the alert has no "${labelName}" label naming the host` };
  const bare = stripPort(value);
  const shown = JSON.stringify(value.slice(0, 100));
  if (bare === '' || bare.length > 253 || !PLAIN_RE.test(bare)) return { ok: false, reason: `${labelName} ${shown} is not a host name or address` };
  const lower = bare.toLowerCase();

  const byName = inventory.get(bare) ?? inventory.hosts.find((h) => h.name.toLowerCase() === lower);
  if (byName) return { ok: true, host: byName, via: 'name' };

  const byAddress = inventory.hosts.filter((h) => unbracket(h.address) === lower);
  if (byAddress.length === 1) return { ok: true, host: byAddress[0]!, via: 'address' };
  if (byAddress.length > 1) {
    return {
      ok: false,
      reason: `${labelName} ${shown} is the address of ${byAddress.length} inventory hosts (${byAddress
        .slice(0, 5)
        .map((h) => h.name)
        .join(', ')}): label the alert with the inventory name instead`,
    };
  }

  if (bare.includes('.') && !IPV4_RE.test(bare)) {
    const short = lower.split('.')[0]!;
    const byShort = inventory.hosts.find((h) => h.name.toLowerCase() === short);
    if (byShort) return { ok: true, host: byShort, via: 'short name' };
  }
  return { ok: false, reason: `${labelName} ${shown} is not in the inventory (no host has that name or address)` };
}
