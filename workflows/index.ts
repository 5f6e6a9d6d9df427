/** The single workflowsPath the worker bundles. */
export { experimentWorkflow } from './experiment.js';
export { evaluationWorkflow } from './evaluation.js';
export { storageMaintenanceWorkflow } from './storage-maintenance.js';
