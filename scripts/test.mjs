// Runs the vitest suite and ends with a plain "N passed, N failed" line that CI harnesses recognise. A test file that
// fails without a failing test (an import error, no suite registered, a failing hook) counts as a failure of its own,
// so the line can never say "0 failed" while the run fails.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const resultsFile = '.vitest-results.json';
rmSync(resultsFile, { force: true });
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit' });
const status = run.status ?? 1;
console.log(`\n${summary(status)}`);
process.exit(status);

function summary(exitCode) {
  let results;
  try {
    results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  } catch {
    return '0 passed, 1 failed';
  }
  // Named again at the end, so that the tail of a long log says what failed.
  for (const file of results.testResults) {
    for (const test of file.assertionResults.filter((t) => t.status === 'failed')) console.log(`failed: ${file.name} > ${test.fullName}`);
  }
  const brokenFiles = results.testResults.filter((file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'));
  for (const file of brokenFiles) console.log(`failed without a failing test: ${file.name}: ${(file.message || 'no message').split('\n')[0]}`);
  let failed = results.numFailedTests + brokenFiles.length;
  // Whatever else went wrong (a reporter error, an unhandled rejection between tests) still makes the run fail.
  if (exitCode !== 0 && failed === 0) failed = 1;
  const skipped = results.numPendingTests + results.numTodoTests;
  return `${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}
