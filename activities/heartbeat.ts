/**
 * Every activity heartbeats while it runs, so when its worker dies the server notices within the
 * workflow's heartbeatTimeout and retries it elsewhere, instead of waiting out startToCloseTimeout.
 * The SDK throttles the actual heartbeat calls, so beating every second costs nothing.
 */
import { Context } from '@temporalio/activity';

const BEAT_MS = 1_000;

type AnyFn = (...args: never[]) => Promise<unknown>;

export function withHeartbeats<T extends Record<string, AnyFn>>(activities: T): T {
  const out: Record<string, AnyFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      const ctx = Context.current();
      ctx.heartbeat();
      const timer = setInterval(() => ctx.heartbeat(), BEAT_MS);
      try {
        return await fn(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return out as T;
}
