/** Process entry point of the CLI (`bin/badgateway.js`, `npm start`). */
import { runAsProcess } from './main.js';

await runAsProcess(process.argv.slice(2));
