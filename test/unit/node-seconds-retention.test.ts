import {
  FINE_RETENTION_MS,
  NODE_SECONDS_CHUNK_MS,
  nodeSecondField,
  nodeOfSecondField,
  nodeSecondsChunkExpiry,
  nodeSecondsChunksPastRetention,
} from '../../shared/store/keys';

const retentionEnd = (chunk: number) => (chunk + 1) * NODE_SECONDS_CHUNK_MS + FINE_RETENTION_MS;

describe("the nodes' minute hashes", () => {
  test.each([Date.UTC(2026, 10, 27, 2, 0, 0), Date.UTC(2026, 10, 27, 2, 0, 0) - 1, Date.UTC(2026, 10, 27, 2, 17, 42, 503)])(
    'the minutes past retention at %d are exactly those retained no longer and not yet expired',
    (now) => {
      const chunks = nodeSecondsChunksPastRetention(now);
      expect(chunks.length).toBeGreaterThanOrEqual(60);
      for (const chunk of chunks) {
        expect(retentionEnd(chunk)).toBeLessThanOrEqual(now);
        expect(nodeSecondsChunkExpiry(chunk) * 1000).toBeGreaterThan(now);
      }
      const after = chunks[chunks.length - 1]! + 1;
      expect(retentionEnd(after)).toBeGreaterThan(now);
      expect(nodeSecondsChunkExpiry(chunks[0]! - 1) * 1000).toBeLessThanOrEqual(now);
    },
  );

  test('a field names the second within its minute, then the node (whose name may hold colons)', () => {
    const second = Math.floor(Date.UTC(2026, 10, 27, 2, 0, 59) / 1000);
    expect(nodeSecondField(second, 'rack:7:web-1')).toBe('59:rack:7:web-1');
    expect(nodeOfSecondField('59:rack:7:web-1')).toBe('rack:7:web-1');
    expect(nodeOfSecondField('expires_at')).toBeUndefined();
  });
});
