// Graph change notifications on /users (and the subscription validation handshake).
// Anonymous: Graph cannot send a function key header; every item is checked against clientState.
import { app } from '@azure/functions';
import { appParts } from '../lib/app.js';
import { graphNotificationsHandler } from '../lib/functions/graph-notifications.js';

app.http('graph-notifications', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'graph-notifications',
  handler: graphNotificationsHandler(appParts),
});
