/**
 * The API's calls to the Temporal server are bounded. A server that accepts connections but does
 * not answer (frozen, overloaded, a half-open link) held POST /experiments, pause/resume/stop,
 * context sources and training schedules open with no end: the client sets no deadline of its own.
 * Calls that carry one (steering updates, status queries, health checks) keep it; every other call
 * gets `timeoutMs`; errors.ts answers a call the server did not answer with 503 and Retry-After.
 */
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';

/** gRPC interceptors for the API's connection: a default deadline around Temporal's own retries. */
export function boundedInterceptors(timeoutMs: number): Interceptor[] {
  const defaultDeadline: Interceptor = (options, nextCall) => {
    const d = options.deadline;
    const unset = d === undefined || d === Infinity;
    return new InterceptingCall(nextCall(unset ? { ...options, deadline: Date.now() + timeoutMs } : options));
  };
  return [defaultDeadline, makeGrpcRetryInterceptor(defaultGrpcRetryOptions())];
}
