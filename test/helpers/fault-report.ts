/**
 * Rows of the fault table (`npm run test:faults`): what went in against what came out for each
 * fault. A test appends its row to the file FAULTS_REPORT names; scripts/faults-table.ts prints them.
 * Without FAULTS_REPORT (a plain `npm test`) the rows only go to the test's log.
 */
import { appendFileSync } from 'node:fs';

export interface FaultRow {
  fault: string;
  /** What went in, e.g. "events acknowledged (202)": 1200. */
  in: Record<string, number | string>;
  /** What came out, e.g. "Event rows": 1200. */
  out: Record<string, number | string>;
  /** Losses and doubles: every value must be 0 for the row to pass. */
  lost: number;
  doubled: number;
  seconds: number;
  notes?: string;
}

export function recordFault(row: FaultRow): void {
  const line = JSON.stringify(row);
  console.log(`[fault] ${line}`);
  if (process.env.FAULTS_REPORT) appendFileSync(process.env.FAULTS_REPORT, `${line}\n`);
}
