/**
 * Message → Block Kit, always within Slack's documented limits: a message that would be too long is
 * cut with a visible note, never refused by the API (`invalid_blocks`, `msg_too_long`). Every text
 * passes the scrubber here, the one door to Slack, whatever built the message.
 */
import type { types } from '@slack/bolt';
import { cutMrkdwn, esc, type Message, type MessageBlock } from './message.js';
import { plainUserText } from './sanitize.js';
import { scrub } from './scrub.js';

type KnownBlock = types.KnownBlock;

/** Slack's limits (docs.slack.dev block reference), and a budget for the whole message. */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  headerText: 150,
  contextText: 2000,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  actionsElements: 25,
  /** Slack refuses `msg_blocks_too_long` somewhat below 12,000 characters of block text in all. */
  messageText: 11_000,
  fallbackText: 3000,
} as const;

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const TRUNCATED = '\n_…truncated: Slack shows at most 3,000 characters here (Show evidence has the raw lines)_';

function plainCut(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Length of a block's text as Slack counts it towards the message total. */
function textLength(block: KnownBlock): number {
  return JSON.stringify(block).length;
}

function convert(block: MessageBlock, usedActionIds: Set<string>): KnownBlock | null {
  switch (block.kind) {
    case 'header': {
      const text = plainCut(scrub(block.text), SLACK_LIMITS.headerText);
      return text ? { type: 'header', text: { type: 'plain_text', text, emoji: true } } : null;
    }
    case 'section': {
      if (!block.text.trim()) return null;
      return { type: 'section', text: { type: 'mrkdwn', text: cutMrkdwn(scrub(block.text), SLACK_LIMITS.sectionText, TRUNCATED) } };
    }
    case 'plain': {
      const text = cutMrkdwn(esc(scrub(plainUserText(block.text))), SLACK_LIMITS.sectionText);
      return text ? { type: 'section', text: { type: 'plain_text', text, emoji: false } } : null;
    }
    case 'fields': {
      const fields = block.fields
        .filter((f) => f.trim())
        .slice(0, SLACK_LIMITS.fields)
        .map((f) => ({ type: 'mrkdwn' as const, text: cutMrkdwn(scrub(f), SLACK_LIMITS.fieldText) }));
      return fields.length ? { type: 'section', fields } : null;
    }
    case 'context': {
      if (!block.text.trim()) return null;
      return { type: 'context', elements: [{ type: 'mrkdwn', text: cutMrkdwn(scrub(block.text), SLACK_LIMITS.contextText) }] };
    }
    case 'divider':
      return { type: 'divider' };
    case 'actions': {
      const elements = block.buttons.slice(0, SLACK_LIMITS.actionsElements).map((b) => {
        let actionId = b.action.slice(0, SLACK_LIMITS.actionId - 4);
        // action_id must be unique in the message for Bolt to tell clicks apart: suffix repeats.
        for (let n = 2; usedActionIds.has(actionId); n++) actionId = `${b.action.slice(0, SLACK_LIMITS.actionId - 4)}#${n}`;
        usedActionIds.add(actionId);
        return {
          type: 'button' as const,
          action_id: actionId,
          text: { type: 'plain_text' as const, text: plainCut(b.label, SLACK_LIMITS.buttonText) || '?', emoji: true },
          value: b.value.slice(0, SLACK_LIMITS.buttonValue),
          ...(b.style ? { style: b.style } : {}),
        };
      });
      return elements.length ? { type: 'actions', elements } : null;
    }
  }
}

/** Renders a message as Block Kit: every limit enforced, cuts announced in the message itself. */
export function renderSlack(message: Message): SlackMessage {
  const used = new Set<string>();
  const converted = message.blocks.map((b) => convert(b, used)).filter((b): b is KnownBlock => b !== null);
  const actions = converted.filter((b) => b.type === 'actions');
  const content = converted.filter((b) => b.type !== 'actions');

  const actionsLength = actions.reduce((n, b) => n + textLength(b), 0);
  const maxContent = SLACK_LIMITS.blocks - actions.length - 1;
  const kept: KnownBlock[] = [];
  let budget = SLACK_LIMITS.messageText - actionsLength - 300;
  let dropped = 0;
  for (const block of content) {
    const length = textLength(block);
    if (kept.length < maxContent && length <= budget && dropped === 0) {
      kept.push(block);
      budget -= length;
    } else {
      dropped++;
    }
  }
  if (dropped > 0) {
    kept.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `_…${dropped} more section${dropped === 1 ? '' : 's'} not shown: the answer is longer than one Slack message can hold. Show evidence (or \`badgateway triage\` in a terminal) has all of it._`,
        },
      ],
    });
  }
  const blocks = [...kept, ...actions.slice(0, SLACK_LIMITS.blocks - kept.length)];
  const text = cutMrkdwn(scrub(message.text) || ' ', SLACK_LIMITS.fallbackText);
  return { text, blocks };
}

/** A short ephemeral or thread text (mrkdwn) with the same guarantees. */
export function slackText(text: string): SlackMessage {
  return renderSlack({ text, blocks: [{ kind: 'section', text }] });
}
