// Imported first by index.ts: HTTP streaming must be on before the HTTP triggers register. Without
// it the host hands the worker each request body whole, so the intake's size cap (read-body.ts)
// would only trim a copy already in memory; with it, an oversized body is cancelled mid-stream.
// Needs Functions host 4.28 or later (Flex Consumption runs newer).
import { app } from '@azure/functions';

app.setup({ enableHttpStream: true });
