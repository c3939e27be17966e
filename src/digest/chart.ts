/**
 * The digest's picture: a PNG of requests (top panel) and 502/504 (bottom panel, stacked) per hour
 * across the window, the worst hour shaded. Drawn with @napi-rs/canvas (Skia, prebuilt binary inside
 * its npm platform package: nothing to compile, nothing downloaded at install). Text uses DejaVu Sans
 * from @fontsource/dejavu-sans, registered from the package's own file, so the chart looks the same on
 * a machine without any system font.
 */
import { createRequire } from 'node:module';
import { HOUR_MS, clock, span } from './time.js';
import type { Digest, HourBucket } from './types.js';

export const CHART_WIDTH = 1000;
export const CHART_HEIGHT = 440;
/** The family name the shipped font is registered under; the chart asks for no other. */
export const CHART_FONT = 'BadgatewaySans';

const FONT_FILES = ['@fontsource/dejavu-sans/files/dejavu-sans-latin-400-normal.woff2', '@fontsource/dejavu-sans/files/dejavu-sans-latin-700-normal.woff2'];

type CanvasModule = typeof import('@napi-rs/canvas');
let loaded: Promise<CanvasModule> | null = null;

/** Loads the canvas binding and registers the shipped font once; rejects with why when it cannot. */
export function loadChartEngine(): Promise<CanvasModule> {
  loaded ??= (async () => {
    const canvas = await import('@napi-rs/canvas');
    const require = createRequire(import.meta.url);
    for (const file of FONT_FILES) {
      const path = require.resolve(file);
      const key = canvas.GlobalFonts.registerFromPath(path, CHART_FONT);
      if (!key) throw new Error(`could not load the chart font ${path}`);
    }
    return canvas;
  })();
  // The caller awaiting `loaded` gets the error; forgetting the failed load lets the next chart try again.
  loaded.catch(() => {
    loaded = null;
  });
  return loaded;
}

export interface ChartOptions {
  width?: number;
  height?: number;
}

const COLORS = {
  background: '#ffffff',
  text: '#1f2328',
  muted: '#656d76',
  grid: '#e6e8eb',
  requests: '#5b8def',
  c502: '#d1242f',
  c504: '#f08c00',
  worst: 'rgba(209, 36, 47, 0.08)',
};

/** A round step (1, 2, 2.5 or 5 × 10^k, whole numbers for counts) and the axis top it gives for `value`. */
function axis(value: number): { top: number; step: number } {
  if (value <= 0) return { top: 4, step: 1 };
  const raw = value / 4;
  const exp = 10 ** Math.floor(Math.log10(raw));
  let step = 10 * exp;
  for (const m of [1, 2, 2.5, 5, 10]) {
    const candidate = m * exp;
    if (candidate >= raw && Number.isInteger(candidate)) {
      step = candidate;
      break;
    }
  }
  step = Math.max(1, step);
  return { top: Math.ceil(value / step) * step, step };
}

function short(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(n * 100) / 100);
}

/** Renders the chart; the PNG is `width` × `height` pixels (default 1000 × 440). */
export async function renderDigestChart(digest: Digest, options: ChartOptions = {}): Promise<Buffer> {
  const { createCanvas } = await loadChartEngine();
  const width = options.width ?? CHART_WIDTH;
  const height = options.height ?? CHART_HEIGHT;
  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  const hours: HourBucket[] = digest.hourly.length ? digest.hourly : [{ hour: digest.window.from, requests: 0, count5xx: 0, count502: 0, count504: 0 }];
  const font = (px: number, bold = false) => `${bold ? 'bold ' : ''}${px}px ${CHART_FONT}`;

  g.fillStyle = COLORS.background;
  g.fillRect(0, 0, width, height);

  // Title and legend.
  g.fillStyle = COLORS.text;
  g.font = font(16, true);
  g.textBaseline = 'alphabetic';
  g.fillText(`Requests and 502/504 per hour · ${digest.target}`, 16, 26);
  g.font = font(12);
  g.fillStyle = COLORS.muted;
  g.fillText(`${span(digest.window.from, digest.window.to, digest.timeZone)} (${digest.timeZone}) · ${digest.fleet.reached}/${digest.fleet.hosts} hosts`, 16, 44);
  const legend: Array<[string, string]> = [
    ['requests', COLORS.requests],
    ['502', COLORS.c502],
    ['504', COLORS.c504],
  ];
  let lx = width - 16;
  g.textAlign = 'right';
  for (const [label, color] of [...legend].reverse()) {
    const w = g.measureText(label).width;
    g.fillStyle = COLORS.text;
    g.fillText(label, lx, 26);
    g.fillStyle = color;
    g.fillRect(lx - w - 16, 16, 11, 11);
    lx -= w + 32;
  }
  g.textAlign = 'left';

  const left = 64;
  const right = width - 20;
  const plotWidth = right - left;
  const topPanel = { top: 62, bottom: Math.round(62 + (height - 62 - 44) * 0.58) };
  const bottomPanel = { top: topPanel.bottom + 30, bottom: height - 44 };
  const slot = plotWidth / hours.length;
  const barWidth = Math.max(1, slot * 0.72);
  const worst = digest.fleet.worstHour?.hour ?? null;

  const panel = (area: { top: number; bottom: number }, scale: { top: number; step: number }, label: string) => {
    const h = area.bottom - area.top;
    g.font = font(11);
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let v = 0; v <= scale.top; v += scale.step) {
      const y = area.bottom - (h * v) / scale.top;
      g.strokeStyle = COLORS.grid;
      g.lineWidth = 1;
      g.beginPath();
      g.moveTo(left, Math.round(y) + 0.5);
      g.lineTo(right, Math.round(y) + 0.5);
      g.stroke();
      g.fillStyle = COLORS.muted;
      g.fillText(short(v), left - 6, y);
    }
    g.save();
    g.translate(14, (area.top + area.bottom) / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = 'center';
    g.fillStyle = COLORS.muted;
    g.fillText(label, 0, 0);
    g.restore();
    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
  };

  // Worst hour: a band across both panels.
  if (worst !== null) {
    const i = hours.findIndex((b) => b.hour === worst);
    if (i >= 0) {
      g.fillStyle = COLORS.worst;
      g.fillRect(left + i * slot, topPanel.top, slot, bottomPanel.bottom - topPanel.top);
    }
  }

  const requestScale = axis(Math.max(...hours.map((b) => b.requests)));
  const maxRequests = requestScale.top;
  panel(topPanel, requestScale, 'requests');
  g.fillStyle = COLORS.requests;
  hours.forEach((b, i) => {
    const h = ((topPanel.bottom - topPanel.top) * b.requests) / maxRequests;
    if (h > 0) g.fillRect(left + i * slot + (slot - barWidth) / 2, topPanel.bottom - h, barWidth, Math.max(1, h));
  });

  const errorScale = axis(Math.max(...hours.map((b) => b.count502 + b.count504)));
  const maxErrors = errorScale.top;
  panel(bottomPanel, errorScale, '502/504');
  hours.forEach((b, i) => {
    const x = left + i * slot + (slot - barWidth) / 2;
    const ph = bottomPanel.bottom - bottomPanel.top;
    const h502 = (ph * b.count502) / maxErrors;
    const h504 = (ph * b.count504) / maxErrors;
    if (h502 > 0) {
      g.fillStyle = COLORS.c502;
      g.fillRect(x, bottomPanel.bottom - h502, barWidth, Math.max(1, h502));
    }
    if (h504 > 0) {
      g.fillStyle = COLORS.c504;
      g.fillRect(x, bottomPanel.bottom - h502 - h504, barWidth, Math.max(1, h504));
    }
  });
  if (hours.every((b) => b.count502 + b.count504 === 0)) {
    g.fillStyle = COLORS.muted;
    g.font = font(12);
    g.textAlign = 'center';
    g.fillText('no 502/504 in the window', left + plotWidth / 2, (bottomPanel.top + bottomPanel.bottom) / 2);
    g.textAlign = 'left';
  }

  // Hour labels along the bottom, as many as fit.
  g.font = font(11);
  g.fillStyle = COLORS.muted;
  g.textAlign = 'center';
  const labelWidth = g.measureText('00:00').width + 14;
  const every = Math.max(1, Math.ceil(labelWidth / slot));
  hours.forEach((b, i) => {
    if (i % every !== 0) return;
    const x = left + i * slot;
    g.strokeStyle = COLORS.grid;
    g.beginPath();
    g.moveTo(Math.round(x) + 0.5, bottomPanel.bottom);
    g.lineTo(Math.round(x) + 0.5, bottomPanel.bottom + 5);
    g.stroke();
    g.fillText(clock(b.hour, digest.timeZone), x, bottomPanel.bottom + 18);
  });
  g.textAlign = 'left';
  if (worst !== null) {
    g.fillStyle = COLORS.c502;
    g.font = font(11);
    g.fillText(`worst hour ${clock(worst, digest.timeZone)}–${clock(worst + HOUR_MS, digest.timeZone)}`, left, height - 10);
  }
  return canvas.toBuffer('image/png');
}

/** Width and height from a PNG's IHDR, or null when the bytes are not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } | null {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(signature) || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
