/**
 * `badgateway init [PATH]`: writes a commented badgateway.yaml to edit: this machine as `localhost` on
 * the local transport, and a commented SSH host to copy. An existing file is never overwritten.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { DEFAULT_CONFIG_FILE } from '../config/files.js';
import { ExitCode, UsageError, errorMessage } from '../errors.js';
import type { CliCommand } from './types.js';

const USAGE = 'badgateway init [PATH]   (or --config PATH; default $BADGATEWAY_CONFIG, else ./badgateway.yaml)';

/** The file `init` writes; valid as it stands (test/firstrun checks it through the real loader). */
export const INIT_TEMPLATE = `# badgateway.yaml, written by \`badgateway init\`. Edit it, then check it with \`badgateway hosts\`.
# Every setting is optional; badgateway.example.yaml and the README list them all.
# Durations: 500ms, 10s, 5m, 1h (a bare number is seconds).

# The hosts badgateway may triage (\`/502 triage NAME\`, \`badgateway triage NAME\`).
hosts:
  # This machine: catalog commands run here directly, no SSH. nginx and PHP-FPM are found from the
  # running processes, their logs from their own configuration (nginx -T, php-fpm -tt).
  localhost:
    transport: local
    # sources:                           # only where discovery cannot find them
    #   accessLog: /var/log/nginx/access.log
    #   errorLog: /var/log/nginx/error.log

  # A host over SSH (transport: ssh is the default). Uncomment and set its address; pin its host key
  # first, after checking the fingerprint with the host's owner:
  #   ssh-keyscan -p 22 10.0.0.13 >> ~/.ssh/known_hosts
  # web-03:
  #   address: 10.0.0.13
  #   port: 22
  #   user: badgateway                   # overrides ssh.user below
  #   groups: [web]                      # then: /502 triage @web
  #   sources:
  #     fpmLog: /var/log/php8.3-fpm.log

# SSH defaults for every ssh host; any of them can be set again on a host to override it.
# ssh:
#   user: badgateway                     # default: the user running the bot
#   privateKey: ~/.ssh/badgateway_ed25519
#   # passphraseEnv: BADGATEWAY_SSH_PASSPHRASE   # env var holding the key's passphrase
#   # agent: true                        # use the ssh-agent at $SSH_AUTH_SOCK
#   knownHosts: ~/.ssh/known_hosts       # host keys are pinned: unknown or changed keys are refused
#   connectTimeout: 10s
#   commandTimeout: 30s
#   concurrency: 8                       # hosts worked on at once in a fan-out (@web, web-*)

# Where hosts keep their evidence, for every host (a host's own \`sources:\` wins). Anything left out
# is discovered from the host's running nginx and PHP-FPM.
# sources:
#   accessLog: /var/log/nginx/access.log
#   errorLog: /var/log/nginx/error.log
#   fpmLog: /var/log/php8.2-fpm.log
#   slowLog: /var/log/php8.2-fpm.slow.log
#   fpmStatusUrl: http://127.0.0.1/fpm-status

# Slack: start with SLACK_APP_TOKEN + SLACK_BOT_TOKEN in the environment (README, "Slack app").
# Without these settings the bot answers in any channel it is invited to, to anyone there.
# slack:
#   channels: [C0123456789]              # where it answers
#   users: [U0123456789]                 # who may run read-only commands
#   approvers: [U0987654321]             # who may approve changes (reload php-fpm)
`;

export const init: CliCommand = {
  needsContext: false,
  help: `Usage: ${USAGE}

Writes a commented badgateway.yaml to edit: this machine as \`localhost\` (transport: local, no SSH)
and a commented SSH host example. It never overwrites an existing file (exit 2).
`,
  async run(args, _context, io, globals) {
    const positionals = args.filter((a) => !a.startsWith('-'));
    const unknown = args.find((a) => a.startsWith('-'));
    if (unknown) throw new UsageError(`init: unknown option ${unknown.slice(0, 40)}. Usage: ${USAGE}`);
    if (positionals.length > 1) throw new UsageError(`init takes at most one path. Usage: ${USAGE}`);
    if (positionals.length === 1 && globals?.configPath !== undefined && resolve(positionals[0]!) !== resolve(globals.configPath)) {
      throw new UsageError(`init: give the path once, as an argument or with --config, not both. Usage: ${USAGE}`);
    }
    const target = positionals[0] ?? globals?.configPath ?? (process.env.BADGATEWAY_CONFIG || DEFAULT_CONFIG_FILE);
    const file = resolve(target);
    try {
      mkdirSync(dirname(file), { recursive: true });
      // 'wx': create only; an existing file (or a race with another init) is refused, never truncated.
      writeFileSync(file, INIT_TEMPLATE, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new UsageError(`${file} already exists; not overwriting it (edit it, or give another path: badgateway init PATH).`);
      throw new UsageError(`cannot write ${file}: ${code === 'EACCES' ? 'permission denied' : (code ?? errorMessage(err))}.`);
    }
    const found = file === resolve(DEFAULT_CONFIG_FILE) || file === resolve(process.env.BADGATEWAY_CONFIG || DEFAULT_CONFIG_FILE);
    const shown = relative(process.cwd(), file) || file;
    io.stdout.write(`Wrote ${shown}: localhost on this machine (transport: local) and a commented SSH host to copy.\n` + `Edit it, then: badgateway ${found ? '' : `--config ${shown} `}hosts\n`);
    return ExitCode.ok;
  },
};
