export * from './health.js';
export * from './address-policy.js';
export * from './table.js';
export * from './mhda.js';
