/** Rendering for people (aligned tables, rounded numbers) and for machines (JSON on stdout). */

export function printJson(value: unknown, compact = false): void {
  process.stdout.write(`${JSON.stringify(value, null, compact ? undefined : 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** A number with at most `digits` decimals and thousands separators; "-" for null. */
export function num(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${num(value, 2)} %`;
}

export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${num(value, value < 10 ? 2 : 1)} ms`;
}

/** "12:00:01Z (3 s ago)" style: an ISO time shortened, with its age. */
export function when(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const age = Math.max(0, Math.round((now - t) / 1000));
  const ago = age < 120 ? `${age} s ago` : age < 7200 ? `${Math.round(age / 60)} min ago` : `${Math.round(age / 3600)} h ago`;
  return `${iso.replace(/\.\d{3}Z$/, 'Z')} (${ago})`;
}

const NUMERIC = /^[-+]?[\d,.]+( ?(%|ms|s|MB))?$/;

/** Columns padded to their widest cell; numeric cells right-aligned. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], header: boolean) =>
    cells
      .map((cell, i) => (!header && NUMERIC.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers, true), ...rows.map((r) => line(r, false))].join('\n');
}

/** Two columns, label and value, for a single record. */
export function fields(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
