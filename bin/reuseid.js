#!/usr/bin/env node
// Entry point of the `reuseid` command. Runs the compiled sources (built by `npm install` through `prepare`).
import { setFlagsFromString } from 'node:v8';

// Off before any of the server's code runs: V8's allocation-site pretenuring. In about one start in six the server
// ran its whole life with a third of each scavenge surviving into the old space (what pretenured objects holding
// young ones look like), at 1.5x the CPU per request, p99 10-13 ms instead of 2-3 and 200-245 MB resident: 9 of 59
// starts under Get load, none of 40 with it off (README "Memory").
setFlagsFromString('--no-allocation-site-pretenuring');
// The old space may grow to 1.5x what the last full collection kept alive before the next one starts, instead of up
// to 4x on a machine with gigabytes free: under load the server's old space peaked at 88 MB of a 31 MB live set, at
// 52 MB with this, for a few more full collections that run mostly off the event loop (0.06 s and 0.07 s of pauses in
// a bench run). A proportion, not a cap: a large upload still gets the heap it needs. `node --heap-growing-percent=N
// bin/reuseid.js` keeps the operator's own (README "Memory").
if (!process.execArgv.some((flag) => /^--heap[-_]growing[-_]percent=/.test(flag))) setFlagsFromString('--heap-growing-percent=50');
const { runCli } = await import('../dist/cli/index.js');

await runCli(process.argv);
