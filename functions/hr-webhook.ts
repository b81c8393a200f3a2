// HR-system events (hire, update, leave), signed per the Standard Webhooks spec.
// Anonymous: the signature over the raw body is the authentication.
import { app } from '@azure/functions';
import { appParts } from '../lib/app.js';
import { hrWebhookHandler } from '../lib/functions/hr-webhook.js';

app.http('hr-webhook', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'hr-webhook',
  handler: hrWebhookHandler(appParts),
});
