/**
 * The app root, where host.json and rules.yaml are deployed. Sources (lib/) and the bundle
 * (dist/functions/, dist/cli/) both sit below it, so a relative RULES_PATH never depends on the
 * working folder the host happens to start in.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const APP_ROOT = path.resolve(here, here.split(path.sep).includes('dist') ? '../..' : '..');
