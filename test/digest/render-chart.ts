/** Child process of build.test.ts: renders the digest in argv[2] (JSON) to the PNG file argv[3]. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderDigestChart } from '../../src/digest/chart.js';
import type { Digest } from '../../src/digest/types.js';

const digest = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Digest;
writeFileSync(process.argv[3]!, await renderDigestChart(digest));
