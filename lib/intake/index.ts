/** The intake use cases, for the trigger files and the composition root. */
export * from './http.js';
export * from './read-body.js';
export * from './validation-token.js';
export * from './client-state.js';
export * from './issue-text.js';
export * from './graph-notification-schema.js';
export * from './graph-notification-sort.js';
export * from './owned-subscriptions.js';
export * from './one-at-a-time.js';
export * from './graph-notifications.js';
export * from './standard-webhooks.js';
export * from './hr-payload.js';
export * from './hr-webhook.js';
export * from './accept-and-publish.js';
export * from './budget.js';
