import { createHash, randomBytes } from 'node:crypto';
import { CompactSign, generateKeyPair } from 'jose';
import type { Harness } from './harness.js';
import { PUBLIC_URL } from './harness.js';

/**
 * A stranger's device request: a well-formed signed GET naming the device `kid` (which is not secret), signed with a
 * key of the stranger's own. Returns a function that sends one (fresh `jti` each time) and gives the status.
 */
export async function forgedDeviceRequests(h: Harness, url: string, kid: string, remoteAddress: string): Promise<() => Promise<number>> {
  const { privateKey } = await generateKeyPair('ES256');
  return async () => {
    const payload = {
      htm: 'GET',
      htu: `${PUBLIC_URL}${url}`,
      iat: Math.floor(h.clock.now() / 1000),
      jti: randomBytes(16).toString('base64url'),
      bh: createHash('sha256').update('').digest('base64url'),
    };
    const jws = await new CompactSign(Buffer.from(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'ES256', typ: 'reuseid-device+jwt', kid })
      .sign(privateKey);
    const response = await h.app.inject({ method: 'GET', url, remoteAddress, headers: { authorization: `ReuseID-Device ${jws}` } });
    return response.statusCode;
  };
}
