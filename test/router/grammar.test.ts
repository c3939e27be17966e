import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseCommand } from '../../src/router/commands.js';

describe('the /502 grammar', () => {
  it('reads the subcommands, targets and --since', () => {
    expect(parseCommand('triage web-03')).toEqual({ name: 'triage', target: 'web-03', sinceMs: 15 * 60_000, until: null });
    expect(parseCommand('  triage   @web   --since 2h ')).toEqual({ name: 'triage', target: '@web', sinceMs: 2 * 3_600_000, until: null });
    expect(parseCommand('TRIAGE web-0? --since=90s')).toEqual({ name: 'triage', target: 'web-0?', sinceMs: 90_000, until: null });
    expect(parseCommand('triage web-01,web-02 -s 1h30m')).toEqual({ name: 'triage', target: 'web-01,web-02', sinceMs: 90 * 60_000, until: null });
    // Phones and Slack turn -- into a dash; Slack escapes & < >.
    expect(parseCommand('triage web-03 \u2014since 5m')).toEqual({ name: 'triage', target: 'web-03', sinceMs: 5 * 60_000, until: null });
    expect(parseCommand('logs web-03')).toMatchObject({ name: 'logs', target: 'web-03' });
    expect(parseCommand('fpm web-03')).toMatchObject({ name: 'fpm' });
    expect(parseCommand('slowlog web-03 --since 1d')).toMatchObject({ name: 'slowlog', sinceMs: 86_400_000 });
    expect(parseCommand('hosts')).toEqual({ name: 'hosts' });
    expect(parseCommand('help')).toEqual({ name: 'help' });
    expect(parseCommand('')).toEqual({ name: 'help' });
  });

  it('reads --until: a time with its offset, or a duration ago, in every windowed command', () => {
    const at = Date.parse('2026-11-25T17:00:00Z');
    expect(parseCommand('triage web-03 --since 30m --until 2026-11-25T17:00Z')).toEqual({ name: 'triage', target: 'web-03', sinceMs: 30 * 60_000, until: { at } });
    // The same instant in any offset; Slack may send the + as typed.
    expect(parseCommand('triage web-03 --until=2026-11-25T22:30:00+05:30')).toMatchObject({ until: { at } });
    expect(parseCommand('triage web-03 --until 2026-11-25T13:30-0330')).toMatchObject({ until: { at } });
    expect(parseCommand('logs web-03 --until 2h')).toMatchObject({ name: 'logs', until: { agoMs: 2 * 3_600_000 } });
    expect(parseCommand('slowlog web-03 --until 90m --since 5m')).toMatchObject({ name: 'slowlog', sinceMs: 5 * 60_000, until: { agoMs: 90 * 60_000 } });
    expect(parseCommand('runbook web-03 --until 2026-11-25T17:00Z --runbook 502-triage')).toMatchObject({ name: 'runbook', until: { at }, runbook: '502-triage' });
    expect(parseCommand('digest @web --since 24h --until 2026-11-25T17:00Z')).toEqual({ name: 'digest', target: '@web', sinceMs: 86_400_000, until: { at } });
    expect(parseCommand('digest')).toEqual({ name: 'digest', target: null, sinceMs: null, until: null });
    // Phones turn -- into a dash here too.
    expect(parseCommand('triage web-03 \u2014until 1h')).toMatchObject({ until: { agoMs: 3_600_000 } });
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
    ['triage web-03 --until', /--until needs a time/],
    ['triage web-03 --until yesterday', /--until "yesterday" is not a time: use e\.g\. --until 2h/],
    // A zone-less time would be read in the bot's zone, which is nobody's: refused, not guessed.
    ['triage web-03 --until 2026-11-25T17:00', /--until "2026-11-25T17:00" is not a time/],
    ['triage web-03 --until 2026-13-01T00:00Z', /is not a time/],
    ['triage web-03 --until 2h --until 1h', /--until is given twice/],
    // Only an --until value may hold : and +; a target may not.
    ['triage web-03:22', /"web-03:22" contains ":"/],
    ['triage web-03 --until 2026-11-25T17:00Z;id', /--until "2026-11-25T17:00Z;id" is not a time/],
    ['digest @web --until x', /--until "x" is not a time/],
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
