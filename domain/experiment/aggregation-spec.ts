/** What an experiment aggregates per unit: every event name a metric or segmentation feature reads, within its attribution window. */
import type { ExperimentConfig } from './config.js';

export interface AggregationSpec {
  /** Sorted, unique event names. */
  names: string[];
  /** Events up to this long before a unit's first exposure still count (app and API clocks differ). */
  lookbackSeconds: number;
  /** Events later than this after the first exposure do not count; null: no end. */
  windowSeconds: number | null;
}

export function aggregationSpec(config: ExperimentConfig): AggregationSpec {
  const names = new Set<string>(config.metrics.map((m) => m.event));
  for (const f of config.segmentation.features) names.add(f.event);
  if (config.segmentation.conversionEvent) names.add(config.segmentation.conversionEvent);
  return {
    names: [...names].sort(),
    lookbackSeconds: config.attribution.lookbackSeconds,
    windowSeconds: config.attribution.windowHours === undefined ? null : config.attribution.windowHours * 3600,
  };
}
