/**
 * What the Functions app checks while the host loads it: the settings every function needs and
 * the rules file. A throw here stops the app from starting, with the setting or the
 * `file:line:column` and the fix in the host's log, instead of every job failing later. (Whether
 * the rules' SKUs exist needs Graph, so it is checked when the catalog is first read.)
 */
import path from 'node:path';
import { APP_ROOT } from './app-root.js';
import { loadBaseConfig } from './config.js';
import { loadRulesFileSync } from './rules/load.js';
import type { RulesFile } from './rules/schema.js';

export function checkAtStartup(
  env: Record<string, string | undefined>,
  appRoot: string = APP_ROOT,
): RulesFile {
  const config = loadBaseConfig(env);
  return loadRulesFileSync(path.resolve(appRoot, config.rulesPath));
}
