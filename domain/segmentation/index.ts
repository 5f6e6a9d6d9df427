/** Public surface of unit segmentation: features, clustering, identity matching. */
export * from './features.js';
export * from './logistic.js';
export * from './kmeans.js';
export * from './silhouette.js';
export * from './match-centroids.js';
export * from './dbscan.js';
export * from './segment-units.js';
