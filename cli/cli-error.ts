/** The CLI's one error type: a one-line message and the exit code that classifies it. */

/** Exit codes, documented in docs/CLI.md; scripts branch on them. */
export const EXIT = {
  ok: 0,
  /** The service answered with an error (4xx or 5xx). */
  serviceError: 1,
  /** The command line is wrong (unknown option, value out of range); nothing was sent. */
  usage: 2,
  /** The service could not be reached (refused, unknown host, timeout). */
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** HTTP status when the service answered; lets callers tell 404 from 503. */
    readonly status?: number,
    /** The service's error code, e.g. VALIDATION_FAILED or NOT_FOUND. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}
