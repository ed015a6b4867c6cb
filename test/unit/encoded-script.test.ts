/**
 * The apply's arguments are encoded by hand (shared/store/encoded-script.ts), short ones byte
 * by byte: every kind and size of argument must come out as the Redis protocol's plain
 * encoding of its UTF-8 bytes, on both sides of the short/long boundary.
 */
import { encodeBulkStrings, type EncodedArg } from '../../shared/store/encoded-script';

/** The protocol's encoding, written the obvious way. */
function reference(args: readonly EncodedArg[]): Buffer {
  return Buffer.concat(
    args.flatMap((arg) => {
      const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8');
      return [Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')];
    }),
  );
}

/** A deterministic pseudo-random source, so a failure repeats. */
function randomSource(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const PIECES = ['a', 'Z', '0', ':', '{', '\t', '\r', '\n', '$', '\u007f', 'é', '✓', '😀', '\ud800', '\u0000', 'ÿ'];

describe('encodeBulkStrings', () => {
  test('ASCII strings and buffers of every length around the short/long boundary', () => {
    for (let length = 0; length <= 300; length++) {
      const text = 'x'.repeat(length);
      const bytes = Buffer.alloc(length, 0xc3);
      expect(encodeBulkStrings([text, bytes])).toEqual(reference([text, bytes]));
    }
  });

  test('non-ASCII text (accents, symbols, emoji, a lone surrogate, NUL) short and long', () => {
    for (const piece of PIECES) {
      for (const length of [1, 2, 31, 32, 33, 95, 96, 97, 200]) {
        const text = `k:${piece.repeat(length)}`;
        expect(encodeBulkStrings([text])).toEqual(reference([text]));
      }
    }
  });

  test('numbers as String() writes them: integers, negatives, fractions, exponents', () => {
    const numbers = [0, 7, 10, 99, 100, 1795742188035, -1, -0.5, 0.1 + 0.2, 1e21, 5e-7, Number.MAX_SAFE_INTEGER, 123.456];
    expect(encodeBulkStrings(numbers)).toEqual(reference(numbers));
  });

  test('sizes of 1, 2 and 3 or more digits, and the empty call', () => {
    const args = [9, 10, 99, 100, 999, 1000, 70000].map((n) => 'y'.repeat(n));
    expect(encodeBulkStrings(args)).toEqual(reference(args));
    expect(encodeBulkStrings([])).toEqual(Buffer.alloc(0));
  });

  test('random mixes of every kind of argument encode as the plain encoding does', () => {
    const random = randomSource(42);
    for (let round = 0; round < 300; round++) {
      const args: EncodedArg[] = [];
      const count = Math.floor(random() * 40);
      for (let i = 0; i < count; i++) {
        const kind = random();
        const length = Math.floor(random() * (random() < 0.8 ? 120 : 2000));
        if (kind < 0.4) {
          let text = '';
          for (let c = 0; c < length; c++)
            text += random() < 0.9 ? String.fromCharCode(32 + Math.floor(random() * 95)) : PIECES[Math.floor(random() * PIECES.length)];
          args.push(text);
        } else if (kind < 0.7) {
          const bytes = Buffer.alloc(length);
          for (let b = 0; b < length; b++) bytes[b] = Math.floor(random() * 256);
          args.push(bytes);
        } else args.push(random() < 0.5 ? Math.floor(random() * 2 ** 45) : (random() - 0.5) * 10 ** Math.floor(random() * 30));
      }
      expect(encodeBulkStrings(args)).toEqual(reference(args));
    }
  });
});
