// Teardown steps registered as a test goes, run in reverse order even when the test failed midway.
export class Cleanup {
  private readonly steps: (() => unknown)[] = [];

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  /** Runs every step (last registered first); a failing step does not stop the others. */
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // teardown goes on
      }
    }
  }
}
