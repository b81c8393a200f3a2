// Entry point of the Functions app (package.json "main" points at its bundle). A bad setting or
// rules file stops the app here, at load, with the line and the fix in the host's log.
import './setup.js';
import { checkAtStartup } from '../lib/startup-check.js';
import './graph-notifications.js';
import './hr-webhook.js';
import './license-worker.js';
import './subscription-keeper.js';
import './delta-catchup.js';
import './cleanup.js';

// eslint-disable-next-line no-restricted-properties -- the entry point is where settings enter
checkAtStartup(process.env);
