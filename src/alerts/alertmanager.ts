/**
 * Alertmanager's webhook payload (version "4"), validated. Everything in it is outside input: label
 * values are only ever compared with the inventory and shown escaped, never passed to a command.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const MAX_ALERTS = 1000;
const MAX_LABEL = 1024;

const labelMap = z.record(z.string().max(256), z.string().max(MAX_LABEL));

const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelMap,
  annotations: z.record(z.string().max(256), z.string().max(16_384)).optional(),
  startsAt: z.string().max(64).optional(),
  endsAt: z.string().max(64).optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z
    .string()
    .regex(/^[0-9A-Za-z]{1,64}$/, 'expected a hex fingerprint')
    .optional(),
});

const payloadSchema = z.object({
  version: z.string().max(16).optional(),
  groupKey: z.string().max(16_384).optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(1024).optional(),
  groupLabels: labelMap.optional(),
  commonLabels: labelMap.optional(),
  commonAnnotations: z.record(z.string(), z.string()).optional(),
  externalURL: z.string().max(4096).optional(),
  alerts: z.array(alertSchema).min(1, 'expected at least one alert').max(MAX_ALERTS, `expected at most ${MAX_ALERTS} alerts`),
});

export interface Alert {
  status: 'firing' | 'resolved';
  alertname: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string | null;
  endsAt: string | null;
  generatorURL: string | null;
  /** Alertmanager's fingerprint, or a hash of the sorted labels when an old Alertmanager sent none. */
  fingerprint: string;
}

export interface AlertmanagerPayload {
  version: string | null;
  status: 'firing' | 'resolved';
  receiver: string | null;
  groupKey: string | null;
  externalURL: string | null;
  alerts: Alert[];
}

export type ParseOutcome = { ok: true; payload: AlertmanagerPayload } | { ok: false; reason: string };

/** The labels' identity, as Alertmanager computes fingerprints: same labels, same alert. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Parses the request body; the reason names the first problems by their path in the JSON. */
export function parseAlertmanager(body: string): ParseOutcome {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: `the body is not JSON: ${(err as Error).message.slice(0, 120)}` };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, reason: 'expected an Alertmanager webhook object ({"version":"4","alerts":[...]})' };
  }
  const version = (data as { version?: unknown }).version;
  if (version !== undefined && version !== '4') {
    return { ok: false, reason: `unsupported webhook version ${JSON.stringify(version).slice(0, 20)}: expected "4"` };
  }
  const parsed = payloadSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message.replace(/^Invalid input: /, '')}`);
    return { ok: false, reason: problems.join('; ') };
  }
  const raw = parsed.data;
  return {
    ok: true,
    payload: {
      version: raw.version ?? null,
      status: raw.status,
      receiver: raw.receiver ?? null,
      groupKey: raw.groupKey ?? null,
      externalURL: raw.externalURL ?? null,
      alerts: raw.alerts.map((a) => ({
        status: a.status,
        alertname: a.labels.alertname ?? null,
        labels: a.labels,
        annotations: a.annotations ?? {},
        startsAt: a.startsAt ?? null,
        endsAt: a.endsAt ?? null,
        generatorURL: a.generatorURL ?? null,
        fingerprint: a.fingerprint ?? labelsFingerprint(a.labels),
      })),
    },
  };
}
