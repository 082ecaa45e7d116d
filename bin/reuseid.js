#!/usr/bin/env node
// Entry point of the `reuseid` command. Runs the compiled sources (built by `npm install` through `prepare`).
import { runCli } from '../dist/cli/index.js';

await runCli(process.argv);
