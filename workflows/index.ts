/** The single workflowsPath the worker bundles. */
export { experimentWorkflow } from './experiment.js';
export { contextSourceWorkflow } from './context-source.js';
export { evaluationWorkflow } from './evaluation.js';
export { storageMaintenanceWorkflow } from './storage-maintenance.js';
export { retrainingWorkflow } from './retraining.js';
