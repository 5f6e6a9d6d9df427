/** The committed cold-start model, trained on simulated experiments by scripts/train-ttsig-model.ts. */
import coldStart from './cold-start-model.json' with { type: 'json' };
import type { TtsigModel } from './tree-model.js';

/** Cold-start tree used until an experiment has its own history rows. */
export const COLD_START_MODEL = coldStart as unknown as TtsigModel;
