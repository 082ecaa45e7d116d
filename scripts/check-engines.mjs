// Fails when an installed package (production or development) does not support the running Node.js, or does not support
// every version that this project's package.json declares in engines.node: the declared range must hold for the whole tree.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import semver from 'semver';

const root = process.cwd();
const declared = readJson(join(root, 'package.json')).engines?.node;
if (!declared || !semver.validRange(declared)) {
  fail([`package.json engines.node is missing or not a semver range: ${declared}`]);
}
if (!semver.satisfies(process.version, declared)) {
  fail([`the running node ${process.version} is not one that package.json declares: ${declared}`]);
}

const problems = [];
let checked = 0;
for (const dir of packageDirs(join(root, 'node_modules'))) {
  const { name, version, engines } = readJson(join(dir, 'package.json'));
  const range = engines?.node;
  if (typeof range !== 'string') continue;
  checked += 1;
  const where = `${name}@${version} (${relative(root, dir)}) requires node ${range}`;
  if (!semver.validRange(range, { loose: true })) problems.push(`${where}: not a semver range`);
  else if (!semver.satisfies(process.version, range, { loose: true })) problems.push(`${where}: running ${process.version}`);
  else if (!semver.subset(declared, range, { loose: true })) problems.push(`${where}: narrower than the declared ${declared}`);
}

if (problems.length > 0) fail(problems);
console.log(`engines: ${checked} packages with engines.node support node ${process.version} and the declared ${declared}`);

/** Every installed package directory, including scoped packages and nested node_modules. */
function* packageDirs(nodeModules) {
  if (!existsSync(nodeModules)) return;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of readdirSync(path, { withFileTypes: true })) {
        if (scoped.isDirectory()) yield* packageDir(join(path, scoped.name));
      }
    } else {
      yield* packageDir(path);
    }
  }
}

function* packageDir(dir) {
  if (existsSync(join(dir, 'package.json'))) yield dir;
  yield* packageDirs(join(dir, 'node_modules'));
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function fail(lines) {
  console.error(['engines check failed:', ...lines.map((line) => `  ${line}`)].join('\n'));
  process.exit(1);
}
