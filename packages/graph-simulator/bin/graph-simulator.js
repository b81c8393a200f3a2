#!/usr/bin/env node
// The package ships TypeScript sources: run src/main.ts through tsx.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
