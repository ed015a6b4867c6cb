/**
 * The safe character sets of node and process names. They exclude braces (Redis hash
 * tags), tabs and newlines (the stream codec) and anything that needs quoting in a shell.
 */
export const NODE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$';
const PROCESS_CHAR = 'A-Za-z0-9._:@+=,/()\\[\\]#~\\-';
// (?!\\.+$): a name of dots only would be a relative path segment in every URL that holds it.
export const PROCESS_NAME_PATTERN = `^(?!\\.+$)[${PROCESS_CHAR}]([${PROCESS_CHAR} ]{0,126}[${PROCESS_CHAR}])?$`;

export const NODE_NAME_RULE = '1-253 characters: letters, digits, . _ : - (starting with a letter or digit)';
export const PROCESS_NAME_RULE = '1-128 characters: letters, digits, spaces inside, and . _ : @ + = , / ( ) [ ] # ~ - (not dots only)';
