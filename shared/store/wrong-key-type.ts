/** A key an apply would update holds another type: the entry can never apply as is (until the key is fixed). */
export class WrongKeyTypeError extends Error {
  constructor(key: string, actual: string, expected: string) {
    super(`WRONGTYPE ${key} is a ${actual}, expected a ${expected}`);
    this.name = 'WrongKeyTypeError';
  }
}
