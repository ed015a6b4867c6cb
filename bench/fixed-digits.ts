/** A figure for the tables: thousands separated, exactly `digits` decimals; '-' when not a number. */
export const fixed = (v: number, digits: number): string =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
