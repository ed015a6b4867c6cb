/** The opaque cursor of GET /v1/nodes: the last node name of a page, base64url-encoded. */
import { BadRequestError } from '../shared/errors';
import { NODE_NAME_PATTERN } from '../shared/names';

const NODE_NAME = new RegExp(NODE_NAME_PATTERN);

export function encodeCursor(lastName: string): string {
  return Buffer.from(lastName, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const name = cursor.length <= 400 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!NODE_NAME.test(name)) {
    throw new BadRequestError('INVALID_CURSOR', 'cursor must be the "next" cursor of a previous page, unchanged.', [
      { field: 'cursor', message: 'not a cursor this service issued' },
    ]);
  }
  return name;
}
