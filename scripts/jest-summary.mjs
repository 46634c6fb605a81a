// Prints the plain closing line CI reads ("N passed, N failed[, N skipped]") from Jest's JSON results,
// and exits non-zero when the test command failed or its results are missing.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [file = 'jest-results.json', statusArg = '0'] = process.argv.slice(2);
const status = Number(statusArg);

if (!existsSync(file)) {
  // The build or install failed before Jest wrote anything: count that as one failure, never as a pass.
  console.log(`jest results not found at ${file} (the test command exited ${status} before Jest ran)`);
  console.log('0 passed, 1 failed');
  process.exit(status === 0 ? 1 : status);
}

const results = JSON.parse(readFileSync(file, 'utf8'));

// The hostile-input suite (tests named "hostile: ..."): how many kinds of bad input ran, per workspace, so a shrinking
// suite shows in every CI log.
const hostile = new Map();
for (const suite of results.testResults ?? []) {
  const workspace = path.relative(process.cwd(), suite.name).split(path.sep)[0];
  for (const t of suite.assertionResults ?? []) {
    if (![...(t.ancestorTitles ?? []), t.title].some((title) => /^hostile: /.test(title))) continue;
    const counts = hostile.get(workspace) ?? { passed: 0, total: 0 };
    counts.total++;
    if (t.status === 'passed') counts.passed++;
    hostile.set(workspace, counts);
  }
}
if (hostile.size > 0) {
  const all = [...hostile.values()].reduce((a, c) => ({ passed: a.passed + c.passed, total: a.total + c.total }), { passed: 0, total: 0 });
  const parts = [...hostile.entries()].sort().map(([w, c]) => `${w} ${c.passed}/${c.total}`);
  console.log(`hostile-input cases: ${all.passed} of ${all.total} passed (${parts.join(', ')})`);
}
const passed = results.numPassedTests;
// Suites that fail to run (syntax error, failing hook) have no failed test of their own: count each as one failure.
const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
const skipped = results.numPendingTests + results.numTodoTests;
const summary = `${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : '');
console.log(summary);
process.exit(status !== 0 ? status : failed > 0 || passed === 0 ? 1 : 0);
