// Keep the Temporal SDK's INFO logs (bundle stats, worker state) out of test output.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as 'WARN') });
} catch {
  // Installed already in this process.
}
