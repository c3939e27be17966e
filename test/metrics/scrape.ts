/** Scrapes a /metrics endpoint and reads values out of it with parse-prometheus-text-format. */
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';

export interface Scrape {
  families: PromFamily[];
  contentType: string;
  text: string;
  family(name: string): PromFamily | undefined;
  /** Sum of a counter or gauge over the samples whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum of a histogram's `_count` over the samples whose labels include `labels`. */
  count(name: string, labels?: Record<string, string>): number;
  samples(name: string, labels?: Record<string, string>): PromSample[];
}

/**
 * `name_count{...} value` lines of a histogram. parse-prometheus-text-format folds every label set of
 * a histogram into one sample without labels (fine for unlabelled ones), so labelled histograms are
 * read from their `_count` lines; the parser has still validated the whole exposition.
 */
function histogramCounts(text: string, name: string): PromSample[] {
  const out: PromSample[] = [];
  const re = new RegExp(`^${name}_count(?:\\{(.*)\\})? (\\S+)$`, 'gm');
  for (const match of text.matchAll(re)) {
    const labels: Record<string, string> = {};
    for (const pair of (match[1] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ labels, count: match[2]! });
  }
  return out;
}

export function parseScrape(text: string, contentType = ''): Scrape {
  const families = parsePrometheusTextFormat(text);
  const samples = (name: string, labels: Record<string, string> = {}) =>
    (families.find((f) => f.name === name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return {
    families,
    contentType,
    text,
    family: (name) => families.find((f) => f.name === name),
    samples,
    value: (name, labels) => samples(name, labels).reduce((sum, m) => sum + Number(m.value ?? 0), 0),
    count: (name, labels = {}) => {
      const family = families.find((f) => f.name === name);
      if (family?.type !== 'HISTOGRAM') throw new Error(`${name} is not a histogram`);
      return histogramCounts(text, name)
        .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
        .reduce((sum, m) => sum + Number(m.count ?? 0), 0);
    },
  };
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return parseScrape(await res.text(), res.headers.get('content-type') ?? '');
}
