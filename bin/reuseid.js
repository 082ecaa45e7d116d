#!/usr/bin/env node
// Entry point of the `reuseid` command. Runs the compiled sources (built by `npm install` through `prepare`).
import { setFlagsFromString } from 'node:v8';

// Off before any of the server's code runs: V8's allocation-site pretenuring. In about one start in six the server
// ran its whole life with a third of each scavenge surviving into the old space (what pretenured objects holding
// young ones look like), at 1.5x the CPU per request, p99 10-13 ms instead of 2-3 and 200-245 MB resident: 9 of 59
// starts under Get load, none of 40 with it off (README "Memory").
setFlagsFromString('--no-allocation-site-pretenuring');
const { runCli } = await import('../dist/cli/index.js');

await runCli(process.argv);
