export * from './messages.js';
export * from './limits.js';
export * from './validate.js';
export * from './server.js';
export * from './client.js';
