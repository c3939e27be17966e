/** Worker thread of access-file.ts: analyzes the ranges it takes and sends back each one's mergeable part. */
import { parentPort, workerData } from 'node:worker_threads';
import { compileLogFormat } from '../analyze/access/format.js';
import { takeRanges, type WorkerPart, type WorkerRequest } from './access-file.js';

const request = workerData as WorkerRequest;
takeRanges(request, compileLogFormat(request.spec), (index, part) => parentPort!.postMessage({ index, part } satisfies WorkerPart));
