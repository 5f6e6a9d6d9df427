/** Translates permanent data errors from infra/ into Temporal's non-retryable failures. */
import { ApplicationFailure } from '@temporalio/common';
import { InvalidStoredDataError } from '../infra/errors.js';

/** The failure type the workflow treats as permanent: it stops the experiment instead of retrying. */
const INVALID_CONFIG = 'InvalidConfig';

/** Wraps an activity so an InvalidStoredDataError fails it without retries. */
export function nonRetryableOnInvalidData<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      if (e instanceof InvalidStoredDataError) throw ApplicationFailure.nonRetryable(e.message, INVALID_CONFIG);
      throw e;
    }
  };
}
