/**
 * The postmortem timeline of a session, as Markdown ready to paste into an incident review: what
 * the diagnosis said, then every step, check, action, approval and escalation with its time (UTC)
 * and who did it, then each step's outcome and the output of its checks.
 */
import { CAUSE_WORDS } from '../report/chat.js';
import type { Session } from './session.js';

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function who(user: string | null): string {
  return user === null ? 'badgateway' : /^[UW][A-Z0-9]+$/.test(user) ? `@${user}` : user;
}

/** A Markdown table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)} s`;
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function timelineFilename(session: Session): string {
  const day = new Date(session.state.startedAt).toISOString().slice(0, 10);
  return `timeline-${session.state.host.replace(/[^A-Za-z0-9._-]/g, '_')}-${day}-${session.id}.md`;
}

export function renderTimeline(session: Session, now: number = Date.now()): string {
  const s = session.state;
  const out: string[] = [];
  out.push(`# Incident timeline: ${s.host}`, '');
  const end = s.endedAt ?? now;
  const status = s.outcome === 'completed' ? 'completed' : s.outcome === 'aborted' ? 'aborted' : 'in progress';
  out.push(
    `- **Runbook:** ${s.runbookTitle} (\`${session.runbook}\`, session \`${session.id}\`)`,
    `- **Host:** ${s.host}`,
    `- **Started:** ${stamp(s.startedAt)} by ${who(s.startedBy)}`,
    `- **${s.endedAt ? 'Ended' : 'As of'}:** ${stamp(end)} (${status}, ${duration(end - s.startedAt)})`,
  );
  const top = s.report?.diagnosis.causes[0];
  if (top) {
    out.push(`- **Diagnosis:** \`${top.id}\`: ${CAUSE_WORDS[top.id]} (confidence ${Math.round(top.confidence * 100)}%)`);
    out.push(
      `- **Suggested fix:** ${top.remedy.text}${top.remedy.setting && (top.remedy.current || top.remedy.suggested) ? ` (\`${top.remedy.setting}\`: ${top.remedy.current ?? '?'} → ${top.remedy.suggested ?? '?'})` : ''}`,
    );
    const others = s.report!.diagnosis.causes.slice(1);
    if (others.length) out.push(`- **Other candidates:** ${others.map((c) => `\`${c.id}\` ${Math.round(c.confidence * 100)}%`).join(', ')}`);
  } else if (s.report) {
    out.push('- **Diagnosis:** no cause named');
  }
  const a = s.report?.access;
  if (a) out.push(`- **Impact in the triage window (${s.report?.window.since ?? '?'}):** ${a.count5xx} of ${a.requests} requests 5xx (502 × ${a.count502}, 504 × ${a.count504})`);
  out.push('', '## Timeline (UTC)', '', '| time | who | what |', '|---|---|---|');
  let day = '';
  for (const entry of s.timeline) {
    const d = new Date(entry.at).toISOString().slice(0, 10);
    const time = d === day ? clock(entry.at) : `${d} ${clock(entry.at)}`;
    day = d;
    out.push(`| ${time} | ${cell(who(entry.who))} | ${cell(entry.text)} |`);
  }
  out.push('', '## Steps', '');
  let n = 0;
  for (const step of s.steps) {
    if (step.status === 'not-applicable') {
      out.push(`- ~~${step.title}~~: not applicable (${step.reason ?? 'condition not met'})`);
      continue;
    }
    n++;
    const outcome =
      step.status === 'done'
        ? `done by ${who(step.by ?? null)} at ${clock(step.endedAt ?? 0)}`
        : step.status === 'skipped'
          ? `skipped by ${who(step.by ?? null)} at ${clock(step.endedAt ?? 0)}`
          : `open (shown at ${clock(step.shownAt ?? 0)})`;
    out.push(`${n}. **${step.title}**: ${outcome}`);
  }
  const withChecks = s.steps.filter((st) => st.checks.length > 0);
  if (withChecks.length) {
    out.push('', '## Check results', '');
    for (const step of withChecks) {
      for (const check of step.checks) {
        out.push(`### ${step.title}: \`${check.label}\` at ${clock(check.at)} (${check.ok ? 'ok' : 'FAILED'})`, '');
        if (check.command) out.push(`\`$ ${check.command}\``, '');
        out.push(check.summary, '', '```text', check.output.replace(/```/g, 'ˋˋˋ').trimEnd() || '(no output)', '```', '');
      }
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
