/** Helpers for Redis's flat field-value array replies (XINFO and friends). */

export function replyToRecord(fields: readonly unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[String(fields[i])] = fields[i + 1];
  return record;
}
