/**
 * Lets an erasure reach exposures buffered in *other* API processes' memory. Each API process
 * subscribes to one channel per events queue; the process serving `DELETE /units` publishes a
 * drain request there, every subscriber (itself included) sends its buffer to the queue and
 * replays its spool, then acknowledges on a list the requester waits on. Only once every process
 * that received the request has answered does the erasure scrub the queue, so no exposure of the
 * unit served before the request is left where the scrub cannot see it.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisSubscriber } from '../infra/redis-subscriber.js';

const channel = (eventsQueue: string) => `expflow:exposures:drain:${eventsQueue}`;
const ackKey = (eventsQueue: string, id: string) => `expflow:exposures:drained:${eventsQueue}:${id}`;
/** Acknowledgement a process sends when exposures are still only on its disk (Redis refused them). */
const STILL_SPOOLED = 'spooled';

/** Answers drain requests for one events queue: `drain` resolves true when exposures stay spooled. */
export class ExposureDrainListener {
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Pick<RedisSubscriber, 'subscribe'>,
    private readonly eventsQueue: string,
    private readonly drain: () => Promise<boolean>,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.subscriber.subscribe(channel(this.eventsQueue), (id) => void this.answer(id));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  private async answer(id: string): Promise<void> {
    let reply: string;
    try {
      reply = (await this.drain()) ? STILL_SPOOLED : 'ok';
    } catch (e) {
      reply = `failed: ${(e as Error).message}`;
    }
    const key = ackKey(this.eventsQueue, id);
    await this.redis.multi().rpush(key, reply).expire(key, 120).exec().catch((e: unknown) => {
      console.error(`[api] could not acknowledge exposure drain ${id}: ${(e as Error).message}`);
    });
  }
}

export type DrainOutcome = { ok: true; processes: number } | { ok: false; problem: string };

/**
 * Asks every API process on `eventsQueue` to drain its exposures, and waits for all of them.
 * Not ok when one does not answer within `timeoutMs`, fails, or keeps exposures on its disk.
 */
export async function drainEveryProcess(redis: Redis, eventsQueue: string, timeoutMs = 10_000): Promise<DrainOutcome> {
  const id = randomUUID();
  const key = ackKey(eventsQueue, id);
  const processes = await redis.publish(channel(eventsQueue), id);
  const deadline = Date.now() + timeoutMs;
  try {
    let replies: string[] = [];
    for (;;) {
      replies = await redis.lrange(key, 0, -1);
      if (replies.length >= processes || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (replies.length < processes) return { ok: false, problem: `${processes - replies.length} of ${processes} API processes did not hand over their buffered exposures within ${timeoutMs} ms` };
    const spooled = replies.filter((r) => r === STILL_SPOOLED).length;
    if (spooled) return { ok: false, problem: `${spooled} API process(es) hold exposures spooled on disk that Redis has not taken yet` };
    const failed = replies.find((r) => r !== 'ok');
    if (failed) return { ok: false, problem: `an API process could not hand over its exposures (${failed})` };
    return { ok: true, processes };
  } finally {
    await redis.del(key).catch(() => {});
  }
}
