/**
 * A time window over log entries. Times are epoch milliseconds; `from` is inclusive, `to` exclusive.
 * Either end may be missing (open window).
 */
export interface Window {
  from?: number;
  to?: number;
}

export function inWindow(window: Window, time: number): boolean {
  if (window.from !== undefined && time < window.from) return false;
  if (window.to !== undefined && time >= window.to) return false;
  return true;
}
