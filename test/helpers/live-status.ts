/** An experiment's live status (the workflow's view, through GET /experiments/:key), for tests that wait on cycles. */
import type { WorkflowHandle } from '@temporalio/client';
import type { ExperimentStatus } from '../../domain/experiment/messages.js';
import { waitFor } from './services.js';

/** The live status, or null while the API has none (no workflow yet, or it did not answer). */
export async function liveStatus(apiUrl: string, key: string): Promise<ExperimentStatus | null> {
  const body = (await (await fetch(`${apiUrl}/experiments/${key}`)).json()) as { live?: ExperimentStatus | null };
  return body.live ?? null;
}

/** The live status once no cycle is in flight: the first cycle (run at start) is done and no activity is pending. */
export async function idleLiveStatus(apiUrl: string, key: string, handle: WorkflowHandle, timeoutMs = 30_000): Promise<ExperimentStatus> {
  return waitFor(
    async () => {
      const live = await liveStatus(apiUrl, key);
      return live && live.cycle >= 1 && !(await handle.describe()).raw.pendingActivities?.length ? live : null;
    },
    { what: `${key} idle`, timeoutMs },
  );
}
