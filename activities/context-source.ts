/**
 * Polling a pull source (scheduled by Temporal, `context-source-<key>`): fetch its URL, map the
 * JSON to signals, store the new observations, make them current for the API, and deliver the
 * reaction rules they fire. A failure (network, status, unreadable JSON or mapping) throws so
 * Temporal retries it; after the retries the workflow records it on the source. A URL the SSRF
 * policy refuses (infra/source-fetch.ts) fails at once, without retries.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { feedMappingSchema, mapFeed } from '../domain/context/feed-mapping.js';
import type { SignalScope } from '../domain/context/signals.js';
import { publishCurrentSignals, storeSignals } from '../infra/context-store.js';
import { loadContextSource, recordPoll, recordPollFailureOnce } from '../infra/context-sources.js';
import { reactToSignals, type DeliveredReaction } from '../infra/context-reactions.js';
import { DEFAULT_SOURCE_ACCESS, SourceRefusedError, fetchSourceText } from '../infra/source-fetch.js';
import type { ActivityDeps } from './deps.js';

export interface PollResult {
  fetched: number;
  stored: number;
  problems: string[];
  reactions: DeliveredReaction[];
}

/** More than this from one poll is a mapping mistake (or a hostile feed), not context. */
const MAX_SIGNALS_PER_POLL = 10_000;

export function pollContextSource(d: ActivityDeps) {
  return async ({ sourceKey }: { sourceKey: string }): Promise<PollResult> => {
    const src = await loadContextSource(d.prisma, sourceKey);
    if (!src) throw ApplicationFailure.nonRetryable(`context source '${sourceKey}' does not exist`, 'InvalidConfig');
    const mapping = feedMappingSchema.safeParse(src.mapping);
    if (!mapping.success) throw ApplicationFailure.nonRetryable(`context source '${sourceKey}': stored mapping is invalid`, 'InvalidConfig');

    let text: string;
    try {
      // The URL was checked at registration; checked again here, on the addresses this fetch connects to.
      text = await fetchSourceText(src.url, d.contextSources ?? DEFAULT_SOURCE_ACCESS);
    } catch (e) {
      if (e instanceof SourceRefusedError) throw ApplicationFailure.nonRetryable(`GET ${src.url}: refused: ${e.message}`, 'InvalidConfig');
      throw e;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`GET ${src.url}: body is not JSON`);
    }
    const now = (d.now ?? (() => new Date()))();
    const mapped = mapFeed(doc, mapping.data, { source: src.key, now: now.toISOString(), ttlSeconds: src.ttlSeconds, scope: src.scope as SignalScope });
    if (!mapped.signals.length) throw new Error(`GET ${src.url}: no signal could be read (${mapped.problems.slice(0, 3).join('; ') || 'empty feed'})`);

    if (mapped.signals.length > MAX_SIGNALS_PER_POLL) {
      mapped.problems.unshift(`${mapped.signals.length} signals; kept the first ${MAX_SIGNALS_PER_POLL}`);
      mapped.signals.length = MAX_SIGNALS_PER_POLL;
    }
    const fresh = await storeSignals(d.pool, mapped.signals);
    await publishCurrentSignals(d.redis, fresh, now.getTime());
    const reactions = fresh.length ? await reactToSignals({ ...d, temporal: Context.current().client }, fresh, `context-source:${src.key}`) : [];
    await recordPoll(d.prisma, src.key, { at: now, signals: fresh.length, problems: mapped.problems.length ? mapped.problems.slice(0, 5).join('; ') : null });
    return { fetched: mapped.signals.length, stored: fresh.length, problems: mapped.problems.slice(0, 20), reactions };
  };
}

/** Records a poll that failed after its retries: on the source (for GET /context/sources) and in the audit log, together and once per run. */
export function recordContextSourceFailure(d: ActivityDeps) {
  return async ({ sourceKey, message, runId }: { sourceKey: string; message: string; runId: string }): Promise<void> => {
    await recordPollFailureOnce(d.prisma, sourceKey, message, `context-source-failed:${runId}`);
  };
}
