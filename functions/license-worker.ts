// One license job per message; sessions on, so one user's jobs never run at the same time.
import { app } from '@azure/functions';
import { appParts } from '../lib/app.js';
import { licenseWorkerHandler } from '../lib/functions/license-worker.js';

app.serviceBusQueue('license-worker', {
  connection: 'ServiceBusConnection',
  queueName: '%LICENSE_JOBS_QUEUE%',
  isSessionsEnabled: true,
  handler: licenseWorkerHandler(appParts),
});
