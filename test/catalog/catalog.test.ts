import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadCatalog, parseCatalogFile, shellJoin, shellQuote } from '../../src/catalog/index.js';
import { defaultCatalogDir, parseConfigText } from '../../src/config/index.js';
import { UsageError } from '../../src/errors.js';

const host = parseConfigText('hosts:\n  web-01:\n    sources:\n      accessLog: "/var/log/nginx/access log.log"\n      fpmService: php8.2-fpm\n', 'b.yaml', {}).hosts[0]!;

describe('shellQuote', () => {
  it('round-trips arbitrary strings through a real POSIX shell', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = `abc XYZ019'"\\$\`!*?[]{}();|&<>~#%^=+,.-_/\t\n\u00e9\u4e2d`;
    const samples = [
      '',
      "'",
      "''",
      '"\'"',
      '$(id)',
      '`id`',
      '-n',
      '--',
      ...Array.from({ length: 40 }, () => Array.from({ length: Math.floor(random() * 20) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')),
    ];
    for (const shell of ['sh', 'bash', 'dash']) {
      const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellJoin(samples)}`]);
      expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(samples);
    }
  });

  it('leaves plain words alone and refuses NUL', () => {
    expect(shellQuote('/var/log/nginx/access.log')).toBe('/var/log/nginx/access.log');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('the shipped catalog', () => {
  const catalog = loadCatalog(defaultCatalogDir());

  it('loads and marks the actions as mutating', () => {
    expect(catalog.get('fpm.reload')?.mutating).toBe(true);
    expect(catalog.get('nginx.config')?.mutating).toBe(false);
    expect(catalog.list().length).toBeGreaterThan(10);
  });

  it('fills placeholders from inventory values and typed parameters', () => {
    const rendered = catalog.render('log.read-range', host, { source: 'accessLog', offset: '1024', length: 4096 });
    expect(rendered.argv).toEqual(['dd', 'if=/var/log/nginx/access log.log', 'bs=65536', 'skip=1024', 'count=4096', 'iflag=skip_bytes,count_bytes', 'status=none']);
    expect(catalog.render('fpm.reload', host).argv).toEqual(['systemctl', 'reload', 'php8.2-fpm']);
  });

  it('refuses bad parameters with a message that says what is expected', () => {
    expect(() => catalog.render('log.read-range', host, { source: 'accessLog', offset: '1;id', length: 1 })).toThrow('log.read-range: offset must be a whole number from 0, got "1;id".');
    expect(() => catalog.render('log.tail', host, { source: '/etc/shadow' })).toThrow(/source must be one of accessLog/);
    expect(() => catalog.render('log.tail', host, { source: 'accessLog', extra: 'x' })).toThrow(/takes no parameter "extra"/);
    expect(() => catalog.render('log.tail', host, { source: 'errorLog' })).toThrow(/web-01 has no errorLog configured/);
    expect(() => catalog.render('rm.everything', host)).toThrow(UsageError);
  });
});

describe('catalog validation', () => {
  it('rejects a template whose program is a placeholder or uses an undeclared placeholder', () => {
    const problems = parseCatalogFile(
      `- id: bad.program
  description: x
  argv: ["{accessLog}"]
- id: bad.placeholder
  description: x
  argv: [cat, "{whatever}"]
- id: no-dot
  description: x
  argv: [ls]
`,
      '/x/bad.yaml',
    ).filter((r) => typeof r === 'string');
    expect(problems).toEqual([
      'bad.yaml: 0 (bad.program): the program (argv[0]) must be fixed, not a placeholder',
      'bad.yaml: 1 (bad.placeholder): unknown placeholder {whatever}: declare it under params or use one of accessLog, errorLog, fpmLog, slowLog, fpmService, fpmStatusUrl',
      'bad.yaml: 2.id: expected an id like nginx.config',
    ]);
  });
});

describe('catalog rules the loader enforces', () => {
  it('refuses a placeholder inside sh -c script text, in any shell and option spelling', () => {
    const problems = parseCatalogFile(
      `- id: bad.script
  description: a path pasted into the script
  argv: [sh, -c, "tail -n 5 {accessLog}", tail-it]
- id: bad.bash
  description: bash with options before -c
  argv: [/bin/bash, -e, -uc, "systemctl reload {fpmService}"]
- id: bad.busybox
  description: busybox sh
  argv: [busybox, sh, -c, 'echo "\${accessLog}"']
- id: good.positional
  description: the value as a positional argument
  argv: [sh, -c, 'tail -n 5 "$1"', tail-it, "{accessLog}"]
`,
      '/x/scripts.yaml',
    );
    expect(problems.filter((r) => typeof r === 'string')).toEqual([
      `scripts.yaml: 0 (bad.script): placeholder {accessLog} inside the shell script text (argv[2]): values may only arrive as positional arguments after it (sh -c 'script using "$1"' name {accessLog})`,
      `scripts.yaml: 1 (bad.bash): placeholder {fpmService} inside the shell script text (argv[3]): values may only arrive as positional arguments after it (sh -c 'script using "$1"' name {fpmService})`,
      `scripts.yaml: 2 (bad.busybox): placeholder {accessLog} inside the shell script text (argv[3]): values may only arrive as positional arguments after it (sh -c 'script using "$1"' name {accessLog})`,
    ]);
    expect(problems.filter((r) => typeof r !== 'string').map((c) => (c as { id: string }).id)).toEqual(['good.positional']);
  });

  it('every shipped sh -c entry keeps its script constant', () => {
    const catalog = loadCatalog(defaultCatalogDir());
    const scripts = catalog.list().filter((c) => c.argv[0] === 'sh');
    expect(scripts.length).toBeGreaterThan(3);
    for (const c of scripts) expect(c.argv[2], c.id).not.toMatch(/\{[A-Za-z][A-Za-z0-9]*\}/);
  });

  it('refuses a service name starting with "-" in the config, and any "-"-led value at render time', () => {
    expect(() => parseConfigText('sources:\n  fpmService: --help\nhosts:\n  web-01: {}\n', 'b.yaml', {})).toThrow('sources.fpmService: expected a service name like php8.2-fpm (not starting with -)');
    const catalog = loadCatalog(defaultCatalogDir());
    const sneaky = { ...host, sources: { ...host.sources, fpmService: '-H' } };
    expect(() => catalog.render('fpm.reload', sneaky)).toThrow('web-01: the fpmService "-H" starts with "-", so fpm.reload will not run with it.');
  });
});

describe('catalog files with YAML aliases', () => {
  it('refuses an alias bomb with the reason instead of expanding it', () => {
    const levels = ['- &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `- &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    expect(parseCatalogFile(levels.join('\n'), '/x/bomb.yaml')).toEqual([
      'bomb.yaml: (top level): its aliases expand too far (more than 100 expansions, as in a YAML alias bomb); write the values out instead',
    ]);
  });
});
