/** The single workflowsPath the worker bundles. */
export { experimentWorkflow } from './experiment.js';
