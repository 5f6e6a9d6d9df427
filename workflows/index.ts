/** The single workflowsPath the worker bundles. */
export { experimentWorkflow } from './experiment.js';
export { storageMaintenanceWorkflow } from './storage-maintenance.js';
