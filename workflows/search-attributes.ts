/** Search attributes ops use to find experiments in the Temporal UI; registered by scripts/services.sh. */
import { defineSearchAttributeKey } from '@temporalio/common';

export const SA = {
  key: defineSearchAttributeKey('ExperimentKey', 'KEYWORD'),
  status: defineSearchAttributeKey('ExperimentStatus', 'KEYWORD'),
  kind: defineSearchAttributeKey('ExperimentKind', 'KEYWORD'),
  entity: defineSearchAttributeKey('Entity', 'KEYWORD'),
  decisionOutcome: defineSearchAttributeKey('DecisionOutcome', 'KEYWORD'),
} as const;

