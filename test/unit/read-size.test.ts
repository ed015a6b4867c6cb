import { ReadSize } from '../../worker/read-size';

describe('how many entries a read asks for', () => {
  test('one-sample entries: the entry bound', () => {
    const size = new ReadSize(200, 20_000);
    size.observe(200, 200);
    expect(size.count).toBe(200);
  });

  test('fat entries: about the sample bound, at least one entry', () => {
    const size = new ReadSize(200, 20_000);
    size.observe(10, 10_000);
    expect(size.count).toBe(20);
    size.observe(1, 50_000);
    expect(size.count).toBe(1);
  });

  test('grows at once with fatter entries, shrinks back gradually', () => {
    const size = new ReadSize(200, 20_000);
    size.observe(1, 1000);
    expect(size.count).toBe(20);
    size.observe(20, 20);
    expect(size.count).toBeGreaterThan(20);
    expect(size.count).toBeLessThan(200);
    for (let i = 0; i < 30; i++) size.observe(200, 200);
    expect(size.count).toBe(200);
  });

  test('an empty read changes nothing', () => {
    const size = new ReadSize(200, 20_000);
    size.observe(4, 4000);
    size.observe(0, 0);
    expect(size.count).toBe(20);
  });
});
