// The transfer service as a process (`transfer serve`): `node dist/main.js` in production, `pnpm dev`
// with reload. Runs the upload API and every configured source until SIGTERM.
import { runMain } from '@audio/config';
import { serve } from './cli-program.js';

runMain(serve);
