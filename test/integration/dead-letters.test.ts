/** Poison entries: dead-lettered at once when they can never apply, the stream flows past, replay counts once. */
import { deadLetterScenarios } from '../scenarios/dead-letters';

deadLetterScenarios();
