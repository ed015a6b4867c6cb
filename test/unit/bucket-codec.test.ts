import {
  addSampleInto,
  BUCKET_FIELDS,
  BucketDecodeError,
  decodeBucket,
  encodeBucket,
  luaBucketCodec,
  mergeInto,
  mergeStoredBucket,
  sampleBucket,
  SUM_FIELD_COUNT,
} from '../../shared/store/bucket-codec';

describe('bucket codec', () => {
  test('a sum bucket and a bucket with extremes round-trip bit for bit', () => {
    const sum = sampleBucket(1 / 3, 0.1, 0.7, 1_700_000_000_123, false);
    const withExtremes = sampleBucket(99.99, 1e-300, 2.5, 1_700_000_000_999, true);
    expect(encodeBucket(sum)).toHaveLength(SUM_FIELD_COUNT * 8);
    expect(encodeBucket(withExtremes)).toHaveLength(BUCKET_FIELDS.length * 8);
    expect(decodeBucket(encodeBucket(sum))).toEqual(sum);
    expect(decodeBucket(encodeBucket(withExtremes))).toEqual(withExtremes);
  });

  test('fields are named: sums, the span, and extremes only where kept', () => {
    expect(sampleBucket(10, 20, 5, 100_000, true)).toEqual({
      cpu_seconds: 50,
      mem_seconds: 100,
      seconds: 5,
      samples: 1,
      covers_from_ms: 95_000,
      last_sample_ms: 100_000,
      cpu_min: 10,
      cpu_max: 10,
      mem_min: 20,
      mem_max: 20,
    });
    expect(sampleBucket(10, 20, 5, 100_000, false)).not.toHaveProperty('cpu_min');
  });

  test('merging adds the sums, keeps the earliest start and the latest sample, and the extremes', () => {
    const into = sampleBucket(10, 20, 5, 100_000, true);
    mergeInto(into, sampleBucket(30, 5, 1, 99_500, true));
    expect(into).toEqual({
      cpu_seconds: 80,
      mem_seconds: 105,
      seconds: 6,
      samples: 2,
      covers_from_ms: 95_000,
      last_sample_ms: 100_000,
      cpu_min: 10,
      cpu_max: 30,
      mem_min: 5,
      mem_max: 20,
    });
  });

  test('merging the stored forms is decoding both, merging and encoding, bit for bit', () => {
    for (const extremes of [false, true]) {
      const stored = sampleBucket(1 / 3, 1e-300, 0.7, 1_700_000_000_123, extremes);
      mergeInto(stored, sampleBucket(99.99, 2 / 7, 2.5, 1_700_000_000_999, extremes));
      const delta = sampleBucket(0.1, 5e300, 1.1, 1_699_999_999_000, extremes);
      const expected = decodeBucket(encodeBucket(stored));
      mergeInto(expected, decodeBucket(encodeBucket(delta)));
      const merged = mergeStoredBucket(encodeBucket(stored), encodeBucket(delta));
      expect(merged.equals(encodeBucket(expected))).toBe(true);
    }
    // Of another size than the delta, or of no bucket's size: refused, naming the stored size.
    const sum = encodeBucket(sampleBucket(1, 2, 3, 4_000, false));
    const withExtremes = encodeBucket(sampleBucket(1, 2, 3, 4_000, true));
    expect(() => mergeStoredBucket(withExtremes, sum)).toThrow(/80 bytes, expected 48 or 80/);
    expect(() => mergeStoredBucket(Buffer.alloc(7 * 8), Buffer.alloc(7 * 8))).toThrow(BucketDecodeError);
  });

  test('a stored value of another size is refused with a clear error', () => {
    expect(() => decodeBucket(Buffer.from('1,2,3,4,5,6'))).toThrow(BucketDecodeError);
    expect(() => decodeBucket(Buffer.alloc(7 * 8))).toThrow(/56 bytes, expected 48 or 80/);
  });

  test('the Lua side uses the same names and rules, in the same order', () => {
    const lua = luaBucketCodec();
    expect(lua).toContain(`local BUCKET_FIELDS = { ${BUCKET_FIELDS.map((f) => `'${f.name}'`).join(', ')} }`);
    expect(lua).toContain(`local BUCKET_MERGE = { ${BUCKET_FIELDS.map((f) => `'${f.merge}'`).join(', ')} }`);
    expect(lua).toContain(`struct.unpack('<dddddd', current)`);
    expect(lua).toContain(`struct.unpack('<dddddddddd', current)`);
    // Every field merged by its rule, in storage order.
    BUCKET_FIELDS.forEach(({ name, merge }, i) => {
      const [c, d] = [`c${i + 1}`, `d${i + 1}`];
      const expression = merge === 'sum' ? `${c} + ${d}` : `(${c} ${merge === 'min' ? '<' : '>'} ${d} and ${c} or ${d})`;
      expect(lua).toMatch(new RegExp(`${expression.replace(/[()+]/g, (x) => `\\${x}`)},? -- ${name}\n`));
    });
  });

  test('adding a sample in place is merging its bucket, field for field and bit for bit', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 100;
    for (const extremes of [false, true]) {
      const viaMerge = sampleBucket(random(), random(), 0.5, 1_700_000_000_000, extremes);
      const inPlace = { ...viaMerge };
      for (let i = 0; i < 200; i++) {
        const [cpu, mem, timeslice, at] = [random(), random() / 3, 0.1 + random() / 10, 1_700_000_000_000 + Math.floor(random() * 1e4)];
        mergeInto(viaMerge, sampleBucket(cpu, mem, timeslice, at, extremes));
        addSampleInto(inPlace, cpu, mem, timeslice, at);
      }
      expect(encodeBucket(inPlace)).toEqual(encodeBucket(viaMerge));
      expect(inPlace).toEqual(viaMerge);
    }
  });
});
