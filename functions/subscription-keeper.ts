// Hourly (at minute 5): keep the Graph subscription on /users alive, creating it after the first
// deployment and recreating it if Graph lost it. No runOnStartup: on Flex Consumption every scale-out
// and restart would run it, and Microsoft advises against it in production; to create the
// subscription at once after a deployment, run the function by hand (docs/operations.md).
import { app } from '@azure/functions';
import { appParts } from '../lib/app.js';
import { subscriptionKeeperHandler } from '../lib/functions/subscription-keeper.js';

app.timer('subscription-keeper', {
  schedule: '0 5 * * * *',
  handler: subscriptionKeeperHandler(appParts),
});
