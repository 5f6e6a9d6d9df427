/**
 * A steady client load for fault tests: senders that each loop "assign a new unit, send a batch of
 * its events", keeping the books a fault is judged by. A batch the API refuses (503, 429, a reset
 * connection) is sent again with the same event ids, as a well-behaved client would, so every event
 * is eventually acknowledged with a 202 exactly when the client has been told it is stored.
 */
export interface LoadBooks {
  /** Event ids acknowledged with 202 (each sent until acknowledged). */
  acked: Set<string>;
  /** Units whose /assign answer enrolled them: each is an exposure the API served. */
  served: Set<string>;
  /** Refused batch sends by cause, e.g. "503", "429", "network". */
  refused: Record<string, number>;
  /** /assign calls that failed (not served). */
  assignFailed: number;
}

export interface Load {
  books: LoadBooks;
  /** Stops sending and resolves once every sender finished its current batch. */
  stop(): Promise<LoadBooks>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startLoad(opts: { apiUrl: string; experiment: string; prefix: string; senders?: number; batch?: number }): Load {
  const books: LoadBooks = { acked: new Set(), served: new Set(), refused: {}, assignFailed: 0 };
  const batchSize = opts.batch ?? 10;
  let stopping = false;
  const refuse = (why: string) => (books.refused[why] = (books.refused[why] ?? 0) + 1);

  const sendUntilAcked = async (events: Array<Record<string, unknown>>) => {
    for (;;) {
      try {
        const res = await fetch(`${opts.apiUrl}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }), signal: AbortSignal.timeout(15_000) });
        const body = (await res.json()) as { accepted?: number; rejected?: unknown[] };
        if (res.status === 202) {
          if (body.rejected?.length) throw new Error(`events refused one by one: ${JSON.stringify(body.rejected)}`);
          for (const e of events) books.acked.add(e.eventId as string);
          return;
        }
        if (res.status !== 503 && res.status !== 429) throw new Error(`POST /events answered ${res.status}: ${JSON.stringify(body)}`);
        refuse(String(res.status));
      } catch (e) {
        if ((e as Error).message.startsWith('POST /events') || (e as Error).message.startsWith('events refused')) throw e;
        refuse('network');
      }
      // Retry-After says 2-5 s; the test client retries sooner to keep pressure on the restart.
      await sleep(250);
    }
  };

  const sender = async (s: number) => {
    for (let n = 0; !stopping; n++) {
      const unitId = `${opts.prefix}-s${s}-u${n}`;
      try {
        const res = await fetch(`${opts.apiUrl}/assign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ experiment: opts.experiment, unitId }), signal: AbortSignal.timeout(15_000) });
        const a = (await res.json()) as { enrolled?: boolean };
        if (res.status === 200 && a.enrolled) books.served.add(unitId);
        else books.assignFailed++;
      } catch {
        books.assignFailed++;
      }
      const events = Array.from({ length: batchSize }, (_, j) => ({ eventId: `${unitId}-e${j}`, experiment: opts.experiment, unitId, name: j === 0 ? 'purchase' : 'page_view', value: 1 }));
      await sendUntilAcked(events);
    }
  };

  // A sender that meets an answer no client should get stops the load; stop() reports it.
  const running = Promise.all(Array.from({ length: opts.senders ?? 4 }, (_, s) => sender(s))).then(
    () => null,
    (e: unknown) => ((stopping = true), e as Error),
  );
  return {
    books,
    async stop() {
      stopping = true;
      const failure = await running;
      if (failure) throw failure;
      return books;
    },
  };
}
