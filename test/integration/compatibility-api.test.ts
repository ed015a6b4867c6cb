/** README's API end to end over HTTP, checked against the reference model of README's window semantics. */
import { compatibilityApiScenarios } from '../scenarios/compatibility-api';

compatibilityApiScenarios();
