/** Worker settings from the environment: only those given reach the Temporal worker; bad values name the variable. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';

describe('worker settings', () => {
  it('passes only the WORKER_* tuning variables that are set, leaving the rest to the SDK defaults', () => {
    expect(loadConfig({}).workerTuning).toEqual({});
    expect(loadConfig({ WORKER_MAX_CONCURRENT_ACTIVITIES: '20', WORKER_WORKFLOW_TASK_POLLERS: '16' }).workerTuning).toEqual({
      maxConcurrentActivityTaskExecutions: 20,
      maxConcurrentWorkflowTaskPolls: 16,
    });
  });

  it('reads the notification lock in seconds, 30 by default', () => {
    expect(loadConfig({}).notificationsLockMs).toBe(30_000);
    expect(loadConfig({ NOTIFICATIONS_LOCK_SECONDS: '5' }).notificationsLockMs).toBe(5_000);
  });

  it('refuses a value out of range, naming the variable', () => {
    expect(() => loadConfig({ WORKER_WORKFLOW_TASK_POLLERS: '1' })).toThrow(/WORKER_WORKFLOW_TASK_POLLERS/);
    expect(() => loadConfig({ NOTIFICATIONS_LOCK_SECONDS: '0' })).toThrow(/NOTIFICATIONS_LOCK_SECONDS/);
  });
});
