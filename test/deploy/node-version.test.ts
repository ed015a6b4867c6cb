/**
 * Which Node runs the suite. CI runs part of the suite a second time on the Node LTS of the image
 * (.ci/run sets EXPECT_NODE_MAJOR); this fails if that run fell back to another node.
 */
test('the suite runs on the Node it was asked to run on', () => {
  console.log(`jest runs on node ${process.version} (${process.execPath})`);
  const expected = process.env.EXPECT_NODE_MAJOR;
  const major = process.versions.node.split('.')[0];
  if (expected !== undefined) expect(major).toBe(expected);
  // Every Node this project supports (package.json engines: 20 and the image's 24).
  expect(Number(major)).toBeGreaterThanOrEqual(20);
});
