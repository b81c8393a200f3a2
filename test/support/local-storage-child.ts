/**
 * Run as a child process by store-local.test.ts: starts the CLI's local storage on the data folder
 * given as the first argument, writes one entity, prints `{"azuritePid":…}` on a line of its own,
 * and then waits to be killed.
 */
import { TableClient } from '@azure/data-tables';
import { startLocalStorage } from '../../lib/cli/local/local-storage.js';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: local-storage-child.ts DATA_DIR');
const local = await startLocalStorage(dataDir);
const table = TableClient.fromConnectionString(local.connectionString, 'killed', {
  allowInsecureConnection: true,
});
await table.createTable();
await table.createEntity({ partitionKey: 'p', rowKey: 'before-kill', written: 'by the killed run' });
process.stdout.write(`${JSON.stringify({ azuritePid: local.pid })}\n`);
// Keep the event loop alive until the test kills this process.
setInterval(() => undefined, 60_000);
