/**
 * Characters that must not reach a reader as they are: terminal control sequences in log text (a
 * log line must not move the cursor, retitle the window or hide itself on a console), and bidi
 * overrides and control characters in user text shown in Slack (a reason must not reorder what an
 * approver reads). Secrets are the scrubber's business (scrub.ts); these are about display.
 */
import { mapStrings, memoized, scrub } from './scrub.js';

/** ESC sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`), DCS/SOS/PM/APC strings, and two-character escapes. */
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -~]?)/g;
/** C0 controls but tab and newline, DEL, and C1 controls (0x9b is an 8-bit CSI). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** Bidirectional embeddings, overrides and isolates, and marks that reorder text. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Invisible characters that can hide text in plain sight (zero-width space, word joiner, BOM). */
const INVISIBLE = /[\u200b\u2060\ufeff]/g;

/** Text for a terminal: escape sequences and control characters removed, tabs and newlines kept. */
export function terminalSafe(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '').replace(BIDI, '');
}

/** User text (a reason, an alert summary) for a plain-text display: one clean line, nothing that reorders or hides. */
export function plainUserText(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .replace(/[\t\r\n]+/g, ' ')
    .replace(CONTROL, '')
    .replace(BIDI, '')
    .replace(INVISIBLE, '')
    .trim();
}

/** Text for a person at a terminal (console, CLI): scrubbed of credentials, without control sequences. */
export function readerText(text: string): string {
  return terminalSafe(scrub(text));
}

/** `readerText` on every string of a structure, before a terminal renderer adds its own colours. */
export function readerDeep<T>(value: T): T {
  return mapStrings(value, memoized(readerText));
}
