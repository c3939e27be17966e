/**
 * The one scrubber: every text derived from a host's logs passes through `scrub` before a person can
 * read it (Slack messages and files, the console, CLI text and JSON, runbook timelines, the audit
 * log, digests). It removes credentials and keeps the evidence readable: names, hosts, paths, users,
 * cookie names and the shape of a request stay, values that grant access become `[redacted]`.
 *
 * Log lines are attacker-controlled (a request line, a User-Agent), so every pattern here is linear:
 * bounded name lengths, alternatives that cannot overlap, no nested quantifiers. test/report/scrub.test.ts
 * holds the corpus of real-world shapes (what goes, what stays) and a time budget on adversarial input.
 */

export const REDACTED = '[redacted]';

/** Parts of parameter, header and field names that mark their value as a secret. */
const SECRET_NAME_PART = String.raw`pass(?:wd|word|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|auth(?!or)|sess|credential|signature|jwt|salt|[_.-]sid(?![a-z])`;
/** Names that are secrets only when they are the whole name (`key=`, not `monkey=`). */
const SECRET_NAME_EXACT = String.raw`key|sig|sid|code|ticket|otp|pin|hmac|nonce|pw`;
const NAME_CHARS = String.raw`[\w.\[\]%-]`;
const SECRET_NAME = String.raw`(?:${NAME_CHARS}{0,40}?(?:${SECRET_NAME_PART})${NAME_CHARS}{0,40}?|(?:${SECRET_NAME_EXACT}))`;
/** A value in a query string, form body, DSN or assignment: up to the next separator; nginx's `\xHH` escapes included. */
const PARAM_VALUE = String.raw`(?:[^&?#\s"'\\;,]|\\x[0-9A-Fa-f]{2})+`;

/** BEGIN and END lines of a PEM private key; the blocks are found in one pass over these (redactPrivateKeys). */
const PRIVATE_KEY_MARKER = /-----(BEGIN|END) ((?:[A-Z0-9]+ )*)PRIVATE KEY-----/g;
/** A line of nothing but base64, as in the body of a PEM block whose header was cut off. */
const PEM_LINE = /^(\s*)[A-Za-z0-9+/]{60,}={0,2}$/gm;

/** Credentials with a recognisable shape of their own, wherever they stand. */
const TOKEN_SHAPES: RegExp[] = [
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b/g, // AWS access key ids
  /\bAIza[0-9A-Za-z_-]{35}/g, // Google API keys
  /\bya29\.[0-9A-Za-z_-]{20,}/g, // Google OAuth access tokens
  /\b1\/\/0[0-9A-Za-z_-]{30,}/g, // Google OAuth refresh tokens
  /\bgh[pousr]_[A-Za-z0-9]{36,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{22,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack tokens
  /\bxapp-[0-9]-[A-Za-z0-9-]{10,}/g,
  /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe
  /\bnpm_[A-Za-z0-9]{36}\b/g,
  /\bSG\.[\w-]{16,}\.[\w-]{16,}/g, // SendGrid
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, // JWTs (header and payload are base64 JSON)
];
/** Slack incoming webhooks: the path is the credential. */
const SLACK_WEBHOOK = /(hooks\.slack\.com\/(?:services|workflows)\/)[A-Za-z0-9/_-]+/g;

/** `scheme://user:password@host`: the user stays. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{1,20}:\/\/)([^\s:@/?#"'<>]*):([^\s@/?#"'<>]+)@/gi;
/** The same inside a percent-encoded URL (a referrer's `?next=https%3A%2F%2Fuser%3Apw%40host`). */
const URL_USERINFO_ENCODED = /(%3A%2F%2F[^\s%:@/"'&?]*%3A)(?:[^\s@/"'&?%]|%(?!40|2F)[0-9A-Fa-f]{2})+(%40)/gi;

/** `Authorization: Basic …`, `Proxy-Authorization`, `HTTP_AUTHORIZATION => …`; the scheme stays. */
const AUTH_HEADER =
  /(?<![a-z])((?:proxy-)?authorization)(["'\]]?\s*(?:=>|[:=])\s*["']?)(?:(digest)\s+(?:[^"\r\n]|"[^"\r\n]*")*|(basic|bearer|token|negotiate|ntlm|hmac|apikey|aws4-hmac-sha256)\s+[^\s"',;]+|[^\s"',;&]+)/gi;
/** `Cookie:` / `Set-Cookie:` headers: cookie names stay, values go. */
const COOKIE_HEADER = /(?<![a-z])((?:set-)?cookie)(["'\]]?\s*(?:=>|[:=])\s*["']?)([^"\r\n]*)/gi;
const COOKIE_PAIR = /([^\s=;,]{1,100})=([^;"\r\n]*)/g;
const COOKIE_ATTRIBUTES = new Set(['path', 'domain', 'expires', 'max-age', 'samesite', 'secure', 'httponly', 'priority', 'partitioned']);
/** A bare cookie string (`$http_cookie` in an access log): two or more `name=value` pairs joined by `; `. */
// No check after the last pair: a run that could fail at its end would be retried from every start (quadratic).
const BARE_COOKIES = /(?<=^|["\s])[\w.%-]{1,100}=[^;"\s]*(?:; [\w.%-]{1,100}=[^;"\s]*)+/g;

/** Credentials in the arguments of a PHP stack frame: function → index of the first secret argument. */
const PHP_SECRET_ARGS: Record<string, number> = {
  'pdo->__construct': 2,
  'pdo::__construct': 2,
  'new pdo': 2,
  'mysqli->__construct': 2,
  'mysqli->connect': 2,
  'mysqli->real_connect': 2,
  mysqli_connect: 2,
  mysqli_real_connect: 3,
  pg_connect: 0,
  ldap_bind: 2,
  ftp_login: 2,
  ssh2_auth_password: 2,
  'redis->auth': 0,
  password_verify: 0,
  password_hash: 0,
  // Laravel's connector, the frame most PHP stack traces of a refused database login show.
  'connector->createpdoconnection': 2,
  'connector->createconnection': 2,
};
const PHP_ARGS = String.raw`\(((?:'(?:[^'\\\n]|\\.)*'|[^'()\n])*)\)`;
/** `Class->method(args)` / `Class::method(args)`: found by its `->` first, the class read behind it (a scan from every word would be slow). */
const PHP_METHOD = new RegExp(String.raw`(->|::)(?<=(?:^|[^\w\\])\\?([A-Za-z_][\w\\]{0,80})(?:->|::))([A-Za-z_]\w{0,40})${PHP_ARGS}`, 'g');
const PHP_FUNCTION = new RegExp(String.raw`\b(new\s+PDO|mysqli_connect|mysqli_real_connect|pg_connect|ldap_bind|ftp_login|ssh2_auth_password|password_verify|password_hash)${PHP_ARGS}`, 'gi');
const PHP_STRING_ARG = /\s*'(?:[^'\\\n]|\\.)*'|[^,]+/g;

const QUOTE = String.raw`(?:\\x22|\\"|")`;
/** `"password": "…"` in JSON, also inside a log line that escaped its quotes (`\"`, nginx's `\x22`). */
const JSON_STRING_FIELD = new RegExp(String.raw`(${QUOTE}${SECRET_NAME}${QUOTE}\s*:\s*)(${QUOTE})(?:[^"\\\n]|\\(?!"|x22)[^\n])*`, 'gi');
const JSON_BARE_FIELD = new RegExp(String.raw`(${QUOTE}${SECRET_NAME}${QUOTE}\s*:\s*)(?![\s"\\\[{]|null\b|true\b|false\b)[^,}\]\s]+`, 'gi');
/** `password: x`, `[password] => x`, `X-Api-Key: x` (headers, YAML, PHP array dumps). */
const KEY_COLON = new RegExp(String.raw`(?<=^|[\s\[{,("'])((?:x-)?${SECRET_NAME}\]?\s*(?:=>|:)\s*)(?!\[redacted\])[^\s"',;]+`, 'gim');
/** `?token=…`, `&password=…` (queries, form bodies), `;password=…` (DSNs), `DB_PASSWORD=…`, `--password=…`. */
const PARAM = new RegExp(String.raw`(?<=^|[?&;\s"'{(,]|--)(${SECRET_NAME}\s?=\s?["']?)${PARAM_VALUE}`, 'gim');
/** A bare `Basic dXNlcjpwdw==` / `Bearer …` token, when it looks like one (digits, base64 padding, mixed case). */
const BARE_SCHEME = /\b(basic|bearer)\s+([A-Za-z0-9._~+/=-]{8,})/gi;

function looksLikeToken(value: string): boolean {
  return /[0-9+/=]/.test(value) || (/[A-Z]/.test(value) && /[a-z]/.test(value) && value.length >= 12);
}

function scrubCookieValue(value: string): string {
  return value.replace(COOKIE_PAIR, (pair, name: string, v: string) => (COOKIE_ATTRIBUTES.has(name.toLowerCase()) || v === REDACTED ? pair : `${name}=${REDACTED}`));
}

function scrubPhpArgs(whole: string, key: string, args: string, keep: (cleaned: string) => string): string {
  const first = PHP_SECRET_ARGS[key.replace(/\s+/g, ' ').toLowerCase()];
  if (first === undefined) return whole;
  let index = 0;
  const cleaned = args.replace(PHP_STRING_ARG, (arg) => {
    const i = index++;
    return i >= first && arg.trim().startsWith("'") ? `${arg.match(/^\s*/)![0]}'${REDACTED}'` : arg;
  });
  return keep(cleaned);
}

/**
 * Each BEGIN … PRIVATE KEY----- through the next END marker becomes `[redacted]`; a block cut short
 * (a 500-character sample) loses the rest of its line. One pass over the markers: linear.
 */
function redactPrivateKeys(text: string): string {
  if (!text.includes('PRIVATE KEY-----')) return text;
  let out = '';
  let from = 0;
  let open = -1;
  for (const marker of text.matchAll(PRIVATE_KEY_MARKER)) {
    const at = marker.index;
    if (marker[1] === 'BEGIN' && open < 0) {
      out += text.slice(from, at + marker[0].length);
      open = at + marker[0].length;
    } else if (marker[1] === 'END' && open >= 0) {
      out += REDACTED + marker[0];
      from = at + marker[0].length;
      open = -1;
    }
  }
  if (open < 0) return out + text.slice(from);
  const end = text.slice(open).search(/["\n]/);
  return out + REDACTED + (end < 0 ? '' : text.slice(open + end));
}

/**
 * Scrubs a text of any length. Private key blocks may span lines; every other shape lives on one line,
 * so lines are scrubbed one by one, each distinct line once (evidence files repeat their samples).
 */
export function scrub(text: string): string {
  const keyless = redactPrivateKeys(text);
  if (!keyless.includes('\n')) return scrubLine(keyless);
  return keyless.split('\n').map(memoized(scrubLine)).join('\n');
}

function scrubLine(line: string): string {
  let out = line.replace(PEM_LINE, `$1${REDACTED}`);
  for (const shape of TOKEN_SHAPES) out = out.replace(shape, REDACTED);
  return out
    .replace(SLACK_WEBHOOK, `$1${REDACTED}`)
    .replace(URL_USERINFO, `$1$2:${REDACTED}@`)
    .replace(URL_USERINFO_ENCODED, `$1${REDACTED}$2`)
    .replace(AUTH_HEADER, (_m, name: string, sep: string, digest?: string, scheme?: string) => `${name}${sep}${(digest ?? scheme) ? `${digest ?? scheme} ` : ''}${REDACTED}`)
    .replace(COOKIE_HEADER, (_m, name: string, sep: string, value: string) => `${name}${sep}${scrubCookieValue(value)}`)
    .replace(PHP_METHOD, (whole, op: string, cls: string, method: string, args: string) =>
      scrubPhpArgs(whole, `${cls.split('\\').pop()}${op}${method}`, args, (cleaned) => `${op}${method}(${cleaned})`),
    )
    .replace(PHP_FUNCTION, (whole, fn: string, args: string) => scrubPhpArgs(whole, fn, args, (cleaned) => `${fn}(${cleaned})`))
    .replace(JSON_STRING_FIELD, `$1$2${REDACTED}`)
    .replace(JSON_BARE_FIELD, `$1${REDACTED}`)
    .replace(KEY_COLON, `$1${REDACTED}`)
    .replace(PARAM, `$1${REDACTED}`)
    .replace(BARE_COOKIES, (cookies: string) => scrubCookieValue(cookies))
    .replace(BARE_SCHEME, (whole, scheme: string, value: string) => (looksLikeToken(value) ? `${scheme} ${REDACTED}` : whole));
}

/** A deep copy with `fn` applied to every string (keys stay: they are the report's own field names). */
export function mapStrings<T>(value: T, fn: (text: string) => string): T {
  if (typeof value === 'string') return fn(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)])) as T;
  }
  return value;
}

/** `fn` remembered per distinct string for one pass: a report repeats its samples (causes, signatures, hosts). */
export function memoized(fn: (text: string) => string): (text: string) => string {
  const seen = new Map<string, string>();
  return (text) => {
    let out = seen.get(text);
    if (out === undefined) seen.set(text, (out = fn(text)));
    return out;
  };
}

/** Returns a deep copy with every string scrubbed. */
export function scrubDeep<T>(value: T): T {
  return mapStrings(value, memoized(scrub));
}
