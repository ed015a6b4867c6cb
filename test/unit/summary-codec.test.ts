/** The stored node summary: what the planner writes is what the readers and the Lua merge read, field by field. */
import { decodeNodeSummary, encodeNodeSummary, NODE_SUMMARY_FIELDS, type NodeSummary } from '../../shared/store/summary-codec';

test('a summary is stored as its fields in NODE_SUMMARY_FIELDS order, and decodes to itself', () => {
  const summary: NodeSummary = { last_at: 1_795_742_188_035, cpu: 12.5, mem: 1 / 3, timeslice: 0.25, first_at: 1_700_000_000_001 };
  const stored = encodeNodeSummary(summary);
  expect(stored).toHaveLength(NODE_SUMMARY_FIELDS.length * 8);
  NODE_SUMMARY_FIELDS.forEach((name, i) => expect(stored.readDoubleLE(i * 8)).toBe(summary[name]));
  expect(decodeNodeSummary(stored)).toEqual(summary);
});
