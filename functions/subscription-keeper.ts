// Every 6 hours, and at start-up: keep the Graph subscription on /users alive.
import { app } from '@azure/functions';
import { appParts } from '../lib/app.js';
import { subscriptionKeeperHandler } from '../lib/functions/subscription-keeper.js';

app.timer('subscription-keeper', {
  schedule: '0 0 */6 * * *',
  runOnStartup: true,
  handler: subscriptionKeeperHandler(appParts),
});
