import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseCommand } from '../../src/router/grammar.js';

describe('the /502 grammar', () => {
  it('reads the subcommands, targets and --since', () => {
    expect(parseCommand('triage web-03')).toEqual({ name: 'triage', target: 'web-03', sinceMs: 15 * 60_000 });
    expect(parseCommand('  triage   @web   --since 2h ')).toEqual({ name: 'triage', target: '@web', sinceMs: 2 * 3_600_000 });
    expect(parseCommand('TRIAGE web-0? --since=90s')).toEqual({ name: 'triage', target: 'web-0?', sinceMs: 90_000 });
    expect(parseCommand('triage web-01,web-02 -s 1h30m')).toEqual({ name: 'triage', target: 'web-01,web-02', sinceMs: 90 * 60_000 });
    // Phones and Slack turn -- into a dash; Slack escapes & < >.
    expect(parseCommand('triage web-03 \u2014since 5m')).toEqual({ name: 'triage', target: 'web-03', sinceMs: 5 * 60_000 });
    expect(parseCommand('logs web-03')).toMatchObject({ name: 'logs', target: 'web-03' });
    expect(parseCommand('fpm web-03')).toMatchObject({ name: 'fpm' });
    expect(parseCommand('slowlog web-03 --since 1d')).toMatchObject({ name: 'slowlog', sinceMs: 86_400_000 });
    expect(parseCommand('hosts')).toEqual({ name: 'hosts' });
    expect(parseCommand('help')).toEqual({ name: 'help' });
    expect(parseCommand('')).toEqual({ name: 'help' });
  });

  it.each([
    ['triage web-03;id', /"web-03;id" contains ";"/],
    ['triage web-03 && id', /"&&" contains "&"/],
    ['triage web-03&amp;&amp;id', /contains "&"/],
    ['triage $(reboot)', /contains "\$" "\(" "\)"/],
    ['triage web-03|nc', /contains "\|"/],
    ['triage "web-03"', /contains """/],
    ['triage web-03\u200b', /U\+200B/],
    ['triage web-03 > /tmp/x', /contains ">"/],
    ['triage', /`triage` needs a target/],
    ['logs', /`logs` needs a host/],
    ['triage web-03 web-04', /takes a target, got "web-03" and "web-04"/],
    ['triage web-03 --since', /--since needs a duration/],
    ['triage web-03 --since 5x', /--since "5x" is not a duration/],
    ['triage web-03 --since 0', /is not a duration/],
    ['triage web-03 --since 8d', /longer than 7d/],
    ['triage web-03 --since 5m --since 6m', /given twice/],
    ['triage web-03 --json', /Unknown option "--json"/],
    ['hosts web-03', /`hosts` takes no arguments/],
    ['trage web-03', /Unknown subcommand "trage"\. Did you mean `triage`\?/],
    ['slowlogs web-03', /Did you mean `slowlog`\?/],
    ['deploy', /^Unknown subcommand "deploy"\.$/],
    [`triage ${'a'.repeat(600)}`, /too long/],
  ])('refuses %j with a UsageError that says why', (text, expected) => {
    let error: unknown;
    try {
      parseCommand(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(expected);
  });
});
