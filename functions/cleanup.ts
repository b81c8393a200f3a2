// Daily at 02:30 UTC: reclaim, re-drive parked jobs, prune, write the summary.
import { app } from '@azure/functions';
import { appParts } from '../lib/app.js';
import { cleanupHandler } from '../lib/functions/cleanup.js';

app.timer('cleanup', {
  schedule: '0 30 2 * * *',
  handler: cleanupHandler(appParts),
});
