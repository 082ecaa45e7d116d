import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The console's stylesheet, read once at start. tsc does not copy assets, so when running from dist/ the file is
 * found beside the sources (the package ships both).
 */
export function stylesheet(): string {
  const candidates = [new URL('./static/console.css', import.meta.url), new URL('../../src/console/static/console.css', import.meta.url)].map((url) =>
    fileURLToPath(url),
  );
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`The console stylesheet is missing (looked in ${candidates.join(', ')})`);
  return readFileSync(found, 'utf8');
}
