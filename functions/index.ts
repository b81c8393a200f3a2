// Entry point of the Functions app (package.json "main" points at its bundle): registers every trigger.
import './graph-notifications.js';
import './hr-webhook.js';
import './license-worker.js';
import './subscription-keeper.js';
import './delta-catchup.js';
import './cleanup.js';
