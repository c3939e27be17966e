import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { UsageError } from '../../src/errors.js';
import { Inventory } from '../../src/inventory/index.js';

const inventory = new Inventory(
  parseConfigText(
    `hosts:
  web-01: { groups: [web] }
  web-02: { groups: [web] }
  web-03: { groups: [web, canary] }
  db-01: { groups: [db] }
`,
    'b.yaml',
    {},
  ).hosts,
);

const names = (target: string) => inventory.resolve(target).map((h) => h.name);

describe('target resolution', () => {
  it('resolves a name, a group, a glob and a list', () => {
    expect(names('web-03')).toEqual(['web-03']);
    expect(names('@web')).toEqual(['web-01', 'web-02', 'web-03']);
    expect(names('web-0?')).toEqual(['web-01', 'web-02', 'web-03']);
    expect(names('*-01')).toEqual(['db-01', 'web-01']);
    expect(names('db-01,@canary,web-03')).toEqual(['db-01', 'web-03']);
  });

  it('suggests the nearest name for a typo', () => {
    expect(() => inventory.resolve('web-3')).toThrow('Unknown host "web-3". Did you mean web-03?');
    expect(() => inventory.resolve('@wbe')).toThrow('No group "wbe" in the inventory. Did you mean @web?');
  });

  it('gives no suggestion when nothing is close', () => {
    expect(() => inventory.resolve('mailserver')).toThrow(/^Unknown host "mailserver"\. Run/);
  });

  it.each(['web-03;id', '$(reboot)', 'web 03', 'web-03|cat', '`id`', "web'03", 'web-03\nid', '../etc'])('refuses shell metacharacters and other junk: %j', (target) => {
    expect(() => inventory.resolve(target)).toThrow(UsageError);
  });

  it('rejects a glob that matches nothing and an empty target', () => {
    expect(() => inventory.resolve('mail-*')).toThrow('No host matches "mail-*".');
    expect(() => inventory.resolve('  ')).toThrow(/No target given/);
  });
});
