/** Read-after-write (README, API): ?after=TOKEN sees the POST it came from, or answers 504. */
import { readAfterWriteScenarios } from '../scenarios/read-after-write';

readAfterWriteScenarios();
