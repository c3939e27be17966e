/** Worker thread of access-file.ts: analyzes one byte range of an access log and sends back its mergeable part. */
import { parentPort, workerData } from 'node:worker_threads';
import { compileLogFormat } from '../analyze/access/format.js';
import { analyzeRange, type WorkerRequest } from './access-file.js';

const { path, range, spec, window } = workerData as WorkerRequest;
parentPort!.postMessage(analyzeRange(path, range, { format: compileLogFormat(spec), ...(window ? { window } : {}) }).snapshot());
