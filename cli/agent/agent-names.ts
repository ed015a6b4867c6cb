/** Turns host and process names into names the service accepts (shared/names.ts), never rejecting a reading for its name. */

/** Host name -> node name: letters, digits, . _ : - (starting with a letter or digit), at most 253. */
export function toNodeName(raw: string): string {
  const name = raw
    .replace(/[^A-Za-z0-9._:-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 253);
  return name === '' ? 'localhost' : name;
}

/** Process name: letters, digits, inner spaces and . _ : @ + = , / ( ) [ ] # ~ -, at most 128. */
export function toProcessName(raw: string): string {
  const name = raw
    .replace(/[^A-Za-z0-9._:@+=,/()[\]#~\- ]/g, '_')
    .slice(0, 128)
    .trim();
  return name === '' ? 'unnamed' : name;
}
