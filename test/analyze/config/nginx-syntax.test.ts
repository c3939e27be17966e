import { describe, expect, it } from 'vitest';
import { parseNginxSyntax, type NginxDirective } from '../../../src/analyze/config/nginx-syntax.js';

function flat(ds: NginxDirective[]): string[] {
  return ds.flatMap((d) => [`${d.name}|${d.args.join('|')}${d.block ? '{' : ''}`, ...(d.block ? [...flat(d.block), '}'] : [])]);
}

describe('nginx tokeniser', () => {
  it('splits statements and nests blocks', () => {
    const r = parseNginxSyntax('a 1;\nb { c 2 3; d { e; } }\nf;', 't');
    expect(flat(r.directives)).toEqual(['a|1', 'b|{', 'c|2|3', 'd|{', 'e|', '}', '}', 'f|']);
    expect(r.warnings).toEqual([]);
    expect(r.directives[2]!.line).toBe(3);
  });

  it('keeps ; { } # inside quotes and unescapes \\" \\\' \\\\', () => {
    const r = parseNginxSyntax(`set $x "a \\"quoted\\" ; {brace} # not a comment";\nset $y 'it\\'s \\\\ ok';`, 't');
    expect(r.directives.map((d) => d.args[1])).toEqual(['a "quoted" ; {brace} # not a comment', "it's \\ ok"]);
    expect(r.warnings).toEqual([]);
  });

  it('turns \\t \\n \\r into control characters but keeps other escapes (regexes) intact', () => {
    const r = parseNginxSyntax('x "a\\tb\\nc"; location ~ \\.php$ { }', 't');
    expect(r.directives[0]!.args[0]).toBe('a\tb\nc');
    expect(r.directives[1]!.args).toEqual(['~', '\\.php$']);
  });

  it('treats # as a comment only at the start of a word, even with braces in it', () => {
    const r = parseNginxSyntax('server { # comment with { braces } and ; semicolons\n  listen 80;#tail\n  add_header X a#b;\n}', 't');
    expect(flat(r.directives)).toEqual(['server|{', 'listen|80', 'add_header|X|a#b', '}']);
    expect(r.warnings).toEqual([]);
  });

  it('does not end a word at ${ (variable syntax) and treats } inside a word as literal', () => {
    const r = parseNginxSyntax('return 200 ${host}x}y;', 't');
    expect(r.directives[0]!.args).toEqual(['200', '${host}x}y']);
  });

  it('handles escaped spaces and semicolons in bare words', () => {
    const r = parseNginxSyntax('a b\\ c\\;d;', 't');
    expect(r.directives[0]!.args).toEqual(['b\\ c\\;d']);
  });

  it('quoted regex with braces is one word', () => {
    const r = parseNginxSyntax('location ~* "\\.(?:png|jpe?g){1}$" { expires 7d; }', 't');
    expect(r.directives[0]!.args).toEqual(['~*', '\\.(?:png|jpe?g){1}$']);
    expect(r.directives[0]!.block!.map((d) => d.name)).toEqual(['expires']);
  });

  it('tracks line numbers across multi-line quoted strings', () => {
    const r = parseNginxSyntax("log_format x 'a\nb'\n  'c';\nnext;", 't');
    expect(r.directives[0]!.args).toEqual(['x', 'a\nb', 'c']);
    expect(r.directives[1]!.line).toBe(4);
  });

  it('reports but survives unclosed blocks, stray braces, missing ; and unterminated strings', () => {
    const a = parseNginxSyntax('http { server { listen 80;', 't');
    expect(flat(a.directives)).toEqual(['http|{', 'server|{', 'listen|80', '}', '}']);
    expect(a.warnings.join()).toMatch(/unclosed: http@1, server@1/);

    const b = parseNginxSyntax('} a 1; b 2 }', 't');
    expect(b.directives.map((d) => d.name)).toEqual(['a']);
    expect(b.warnings).toHaveLength(3);
    expect(b.warnings[1]).toMatch(/missing ";"/);

    const c = parseNginxSyntax('a "never closed;', 't');
    expect(c.warnings.some((w) => /unterminated/.test(w))).toBe(true);

    const d = parseNginxSyntax('a "x"y;', 't');
    expect(d.warnings.some((w) => /after quoted string/.test(w))).toBe(true);
  });

  it('empty input is fine', () => {
    expect(parseNginxSyntax('', 't')).toEqual({ directives: [], warnings: [] });
  });
});
