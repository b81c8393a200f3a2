// Every 15 minutes: a delta query on /users catches what notifications missed.
import { app } from '@azure/functions';
import { appParts } from '../lib/app.js';
import { deltaCatchupHandler } from '../lib/functions/delta-catchup.js';

app.timer('delta-catchup', {
  schedule: '0 */15 * * * *',
  handler: deltaCatchupHandler(appParts),
});
