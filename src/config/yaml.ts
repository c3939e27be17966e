/**
 * YAML documents to plain data for every file badgateway reads (badgateway.yaml, the catalog,
 * runbooks): a document whose aliases expand without bound (a "billion laughs" alias bomb) is bad
 * input with a reason, like a syntax error, not a crash.
 */
import type { Document } from 'yaml';

/** Alias expansions allowed per document (the yaml package's default too, stated here on purpose). */
export const MAX_ALIAS_COUNT = 100;

export type YamlData = { ok: true; data: unknown } | { ok: false; problem: string };

export function yamlData(doc: Document): YamlData {
  try {
    return { ok: true, data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(message)) {
      return { ok: false, problem: `(top level): its aliases expand too far (more than ${MAX_ALIAS_COUNT} expansions, as in a YAML alias bomb); write the values out instead` };
    }
    return { ok: false, problem: `(top level): ${message.split('\n')[0]}` };
  }
}
