/**
 * Errors of stored data that no retry can fix: a missing experiment, a stored config or payload
 * that no longer parses. infra/ throws these plain errors; activities translate them into Temporal's
 * non-retryable failure (activities/failures.ts), so infra/ stays free of Temporal types.
 */
export class InvalidStoredDataError extends Error {
  override readonly name = 'InvalidStoredDataError';
}
