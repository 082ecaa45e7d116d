import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The console's stylesheet, read once at start. tsc does not copy assets, so when running from dist/ the file is
 * found beside the sources (the package ships both).
 */
export function stylesheet(): string {
  const candidates = [new URL('./static/console.css', import.meta.url), new URL('../../src/console/static/console.css', import.meta.url)].map((url) => fileURLToPath(url));
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`The console stylesheet is missing (looked in ${candidates.join(', ')})`);
  return readFileSync(found, 'utf8');
}

/**
 * Headers on every console response. The CSP allows no script at all and loads styles, images and video only from
 * the console itself; pages show personal data, so nothing is cached, framed, or sent to another site as a referrer.
 */
export function consoleHeaders(secure: boolean): Record<string, string> {
  return {
    'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // Not no-referrer: under it browsers send `Origin: null` on form posts, which the same-origin check must refuse.
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    ...(secure ? { 'Strict-Transport-Security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}
