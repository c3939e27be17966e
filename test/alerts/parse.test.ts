/** The pure parts of the alert intake: the payload, host matching, and the `alerts:` config section. */
import { describe, expect, it } from 'vitest';
import { labelsFingerprint, parseAlertmanager } from '../../src/alerts/alertmanager.js';
import { matchAlertHost, stripPort } from '../../src/alerts/hosts.js';
import { alertToken } from '../../src/alerts/receiver.js';
import { parseConfigText } from '../../src/config/index.js';
import { Inventory } from '../../src/inventory/index.js';
import { ConfigError } from '../../src/errors.js';

function config(alerts: string, hosts = 'hosts: { web-03: { address: 10.0.0.13 }, web-04: { address: "2001:db8::14" }, db-1: {} }'): ReturnType<typeof parseConfigText> {
  return parseConfigText(`${hosts}\n${alerts}`, '/tmp/badgateway.yaml', {});
}

function problems(text: string): string[] {
  try {
    config(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('alerts config', () => {
  it('fills each trigger from the section defaults', () => {
    const c = config(`alerts:
  tokenEnv: BG_TOKEN
  channel: C0ONCALL
  cooldown: 10m
  triggers:
    - alertnames: [NginxHigh5xxRate]
    - alertnames: [PhpFpmDown]
      channel: C0PHP
      hostLabel: host
      window: 1h`);
    expect(c.alerts).toEqual({
      tokenEnv: 'BG_TOKEN',
      resolvedWindowMs: 300_000,
      maxTriages: 10,
      triggers: [
        { alertnames: ['NginxHigh5xxRate'], channel: 'C0ONCALL', hostLabel: 'instance', cooldownMs: 600_000, windowMs: 900_000 },
        { alertnames: ['PhpFpmDown'], channel: 'C0PHP', hostLabel: 'host', cooldownMs: 600_000, windowMs: 3_600_000 },
      ],
    });
    expect(config('').alerts).toBeNull();
  });

  it('refuses a trigger without a channel, an alert listed twice, bad names and unknown keys, by path', () => {
    const found = problems(`alerts:
  tokenEnv: bg-token
  hostLabel: "in stance"
  cooldown: soon
  triggers:
    - alertnames: [A]
    - alertnames: [A, "b c"]
      channel: C0X
      colour: red`);
    expect(found).toEqual(
      expect.arrayContaining([
        'alerts.tokenEnv: expected an environment variable name',
        'alerts.hostLabel: expected a Prometheus label name like instance',
        'alerts.cooldown: expected a duration like 10s, 5m or 500ms, got "soon"',
        'alerts.triggers.1.alertnames.1: expected an alert name like NginxHigh5xxRate',
        'alerts.triggers.1: unknown setting "colour"',
      ]),
    );
    expect(problems(`alerts: { tokenEnv: T, triggers: [ { alertnames: [A] }, { alertnames: [A], channel: C0X } ] }`)).toEqual([
      'alerts.triggers.0.channel: no channel: set alerts.channel or a channel on this trigger',
      'alerts.triggers.1.alertnames: alert A is listed by two triggers',
    ]);
  });

  it('reads the token from the environment at start, and refuses a missing or short one', () => {
    const settings = config('alerts: { tokenEnv: BG_TOKEN, channel: C0X, triggers: [ { alertnames: [A] } ] }').alerts!;
    expect(alertToken(settings, { BG_TOKEN: 'x'.repeat(16) })).toEqual({ token: 'x'.repeat(16) });
    expect(alertToken(settings, {})).toEqual({ problem: expect.stringMatching(/^alerts\.tokenEnv names BG_TOKEN, which is not set/) });
    expect(alertToken(settings, { BG_TOKEN: 'short' })).toEqual({ problem: expect.stringMatching(/shorter than 16 characters/) });
  });
});

describe('host of an alert', () => {
  const inventory = new Inventory(config('').hosts);

  it('strips ports from names, IPv4 and bracketed IPv6, and leaves bare IPv6 alone', () => {
    expect(stripPort('web-03:9113')).toBe('web-03');
    expect(stripPort('10.0.0.13:4040')).toBe('10.0.0.13');
    expect(stripPort('[2001:db8::14]:9253')).toBe('2001:db8::14');
    expect(stripPort('[2001:db8::14]')).toBe('2001:db8::14');
    expect(stripPort('2001:db8::14')).toBe('2001:db8::14');
    expect(stripPort(' web-03 ')).toBe('web-03');
  });

  it('matches names, then addresses, then the short name of a FQDN', () => {
    const host = (value: string) => {
      const m = matchAlertHost(value, inventory);
      return m.ok ? `${m.host.name} by ${m.via}` : m.reason;
    };
    expect(host('web-03:9113')).toBe('web-03 by name');
    expect(host('WEB-03:9113')).toBe('web-03 by name');
    expect(host('10.0.0.13:4040')).toBe('web-03 by address');
    expect(host('[2001:db8::14]:9253')).toBe('web-04 by address');
    expect(host('web-03.example.com:9100')).toBe('web-03 by short name');
    // A host without an address is reached by its name: db-1 is both.
    expect(host('db-1:9100')).toBe('db-1 by name');
    expect(host('10.0.0.99:9100')).toBe('instance "10.0.0.99:9100" is not in the inventory (no host has that name or address)');
    expect(host('web-03$(id):1')).toMatch(/is not a host name or address/);
    expect(matchAlertHost(undefined, inventory, 'host')).toEqual({ ok: false, reason: 'the alert has no "host" label naming the host' });
  });
});

describe('Alertmanager payload', () => {
  it('takes version 4 as Alertmanager sends it, and fingerprints alerts from old senders by their labels', () => {
    const parsed = parseAlertmanager(
      JSON.stringify({
        version: '4',
        status: 'firing',
        receiver: 'badgateway',
        groupKey: '{}:{alertname="X"}',
        alerts: [
          { status: 'firing', labels: { alertname: 'X', instance: 'web-03:9113' }, annotations: { summary: 's' }, startsAt: '2024-05-01T10:00:00Z', fingerprint: 'abc123' },
          { status: 'resolved', labels: { instance: 'web-03:9113', alertname: 'X' } },
        ],
        extraFieldFromANewerAlertmanager: true,
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.payload.alerts[0]).toMatchObject({ alertname: 'X', fingerprint: 'abc123', startsAt: '2024-05-01T10:00:00Z' });
    expect(parsed.payload.alerts[1]).toMatchObject({ alertname: 'X', status: 'resolved', fingerprint: labelsFingerprint({ alertname: 'X', instance: 'web-03:9113' }), annotations: {} });
    // Label order does not change the identity.
    expect(labelsFingerprint({ b: '1', a: '2' })).toBe(labelsFingerprint({ a: '2', b: '1' }));
  });

  it('says what is wrong with a bad one', () => {
    const reason = (body: unknown) => {
      const p = parseAlertmanager(typeof body === 'string' ? body : JSON.stringify(body));
      return p.ok ? 'ok' : p.reason;
    };
    expect(reason('')).toMatch(/^the body is not JSON/);
    expect(reason(null)).toMatch(/expected an Alertmanager webhook object/);
    expect(reason({ version: 4, status: 'firing', alerts: [] })).toBe('unsupported webhook version 4: expected "4"');
    expect(reason({ status: 'firing', alerts: [{ status: 'firing', labels: {}, fingerprint: '../../x' }] })).toBe('alerts.0.fingerprint: expected a hex fingerprint');
    expect(reason({ status: 'firing', alerts: Array.from({ length: 1001 }, () => ({ status: 'firing', labels: {} })) })).toBe('alerts: expected at most 1000 alerts');
  });
});
