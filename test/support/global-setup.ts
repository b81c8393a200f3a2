/**
 * Vitest global setup: one Azurite (blob + table) on loopback for the whole run, started from
 * node_modules and stopped afterwards (it also ends by itself if the test run is killed: see
 * lib/cli/local/azurite-process.ts). Tests read its connection string with
 * `inject('storageConnectionString')` and use their own table prefix so they never collide.
 */
import type { TestProject } from 'vitest/node';
import { startAzurite, type AzuriteHandle } from '../../lib/cli/local/azurite-process.js';

let azurite: AzuriteHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  azurite = await startAzurite();
  project.provide('storageConnectionString', azurite.connectionString);
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnectionString: string;
  }
}
