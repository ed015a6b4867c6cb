/**
 * A name as one URL path segment: percent-encoded, and a name of dots only (which older
 * versions accepted) with its dots encoded too, so a client never resolves it as "." or "..".
 */
export function urlSegment(name: string): string {
  return /^\.+$/.test(name) ? name.replace(/\./g, '%2E') : encodeURIComponent(name);
}
