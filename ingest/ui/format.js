// Numbers with units and times in the browser's zone (UTC on hover). Never colour alone.
import { h } from './dom.js';

const DASH = '—';

export function percent(value) {
  return value === null || value === undefined ? DASH : `${value.toFixed(1)} %`;
}

export function megabytes(value) {
  return value === null || value === undefined ? DASH : `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })} MB`;
}

export function count(value) {
  return value === null || value === undefined ? DASH : value.toLocaleString();
}

/** 42 s, 3 min 5 s, 2 h 4 min. */
export function duration(ms) {
  if (ms === null || ms === undefined) return DASH;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.floor(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.floor(m / 1440)} d`;
}

export function seconds(value) {
  return value === null || value === undefined ? DASH : duration(value * 1000);
}

export function utc(iso) {
  return `${new Date(iso)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`;
}

/** A <time> in local time with the UTC time as its tooltip. */
export function time(iso, { relative = false, now = Date.now() } = {}) {
  if (!iso) return DASH;
  const date = new Date(iso);
  const text = relative ? `${duration(now - date.getTime())} ago` : date.toLocaleString();
  return h('time', { datetime: iso, title: relative ? `${date.toLocaleString()} (${utc(iso)})` : utc(iso) }, text);
}
