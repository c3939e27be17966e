/**
 * nginx config tokeniser + block tree, following ngx_conf_read_token so that quoting, escapes and comments
 * split exactly where nginx splits them (a regex-based reader breaks on `"a ; {b}"` or `# { comment`).
 * Where nginx would stop with an error we record a warning and carry on, to still give a partial result.
 */

export interface NginxDirective {
  name: string;
  args: string[];
  file: string;
  line: number;
  block?: NginxDirective[];
}

export interface ParsedFile {
  directives: NginxDirective[];
  warnings: string[];
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

/** nginx unescapes every word: \" \' \\ lose the backslash, \t \r \n become control chars, others stay. */
function unescape(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\' && i + 1 < raw.length) {
      const next = raw[i + 1]!;
      if (next === '"' || next === "'" || next === '\\') {
        out += next;
        i++;
        continue;
      }
      if (next === 't' || next === 'r' || next === 'n') {
        out += next === 't' ? '\t' : next === 'r' ? '\r' : '\n';
        i++;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

export function parseNginxSyntax(text: string, file: string): ParsedFile {
  const warnings: string[] = [];
  const root: NginxDirective[] = [];
  const stack: { list: NginxDirective[]; opener?: NginxDirective }[] = [{ list: root }];
  let words: string[] = [];
  let stmtLine = 0;
  let line = 1;
  let i = 0;
  const n = text.length;

  const current = (): { list: NginxDirective[]; opener?: NginxDirective } => stack[stack.length - 1]!;
  const where = (l: number): string => `${file}:${l}`;

  const endStatement = (kind: ';' | '{'): void => {
    if (words.length === 0) {
      warnings.push(`${where(line)}: unexpected "${kind}"`);
      if (kind === '{') {
        // Keep nesting balanced so the closing brace does not pop a real block.
        const anon: NginxDirective = { name: '', args: [], file, line, block: [] };
        stack.push({ list: anon.block!, opener: anon });
      }
      return;
    }
    const d: NginxDirective = { name: words[0]!, args: words.slice(1), file, line: stmtLine };
    current().list.push(d);
    if (kind === '{') {
      d.block = [];
      stack.push({ list: d.block, opener: d });
    }
    words = [];
  };

  while (i < n) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      i++;
      continue;
    }
    if (isSpace(ch)) {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (ch === ';' || ch === '{') {
      endStatement(ch);
      i++;
      continue;
    }
    if (ch === '}') {
      if (words.length > 0) {
        warnings.push(`${where(line)}: unexpected "}" after "${words.join(' ')}" (missing ";")`);
        words = [];
      }
      if (stack.length > 1) stack.pop();
      else warnings.push(`${where(line)}: unexpected "}"`);
      i++;
      continue;
    }
    // Start of a word.
    if (words.length === 0) stmtLine = line;
    if (ch === '"' || ch === "'") {
      const quote = ch;
      const startLine = line;
      let j = i + 1;
      let raw = '';
      let closed = false;
      while (j < n) {
        const c = text[j]!;
        if (c === '\\' && j + 1 < n) {
          raw += c + text[j + 1]!;
          if (text[j + 1] === '\n') line++;
          j += 2;
          continue;
        }
        if (c === quote) {
          closed = true;
          j++;
          break;
        }
        if (c === '\n') line++;
        raw += c;
        j++;
      }
      if (!closed) warnings.push(`${where(startLine)}: unterminated ${quote} string`);
      words.push(unescape(raw));
      i = j;
      if (i < n) {
        const after = text[i]!;
        // nginx requires a separator after a closing quote.
        if (!isSpace(after) && after !== ';' && after !== '{' && after !== ')') {
          warnings.push(`${where(line)}: unexpected "${after}" after quoted string`);
        }
      }
      continue;
    }
    let j = i;
    let raw = '';
    let variable = false;
    while (j < n) {
      const c = text[j]!;
      if (c === '{' && variable) {
        raw += c;
        j++;
        variable = false;
        continue;
      }
      variable = false;
      if (c === '\\' && j + 1 < n) {
        raw += c + text[j + 1]!;
        if (text[j + 1] === '\n') line++;
        j += 2;
        continue;
      }
      if (c === '$') {
        variable = true;
        raw += c;
        j++;
        continue;
      }
      if (isSpace(c) || c === ';' || c === '{') break;
      raw += c;
      j++;
    }
    words.push(unescape(raw));
    i = j;
  }
  if (words.length > 0) warnings.push(`${where(line)}: unexpected end of file, expecting ";" or "}" after "${words.join(' ')}"`);
  if (stack.length > 1) {
    const open = stack
      .slice(1)
      .map((s) => `${s.opener?.name ?? '?'}@${s.opener?.line ?? '?'}`)
      .join(', ');
    warnings.push(`${file}: unexpected end of file, expecting "}" (unclosed: ${open})`);
  }
  return { directives: root, warnings };
}
