import type { OutgoingHttpHeaders } from 'node:http';
import { beforeAll, expect, vi } from 'vitest';
import { AgentStore } from '../../src/console/agents.js';
import type { AccountScope } from '../../src/proofing/providers/videoid/cases.js';
import type { FaceComparison, FaceQuality } from '../../src/faces/types.js';
import { sampleImages, sampleMrz } from '../../src/testing/media/sample-images.js';
import type { DeviceClient } from '../../src/sdk/device.js';
import { PUBLIC_URL, type Harness, type Rp } from '../support/harness.js';

/** Helpers shared by the VideoID and console tests: a device with a transaction in its proofing stage, captures, agents. */
export const images = sampleImages();

/**
 * For the tests of everything but faces: the harness's face matcher answers at once that every face matches (score 1),
 * without loading the model, since a real comparison takes about a second on a small machine. Call it after
 * useHarness; test/videoid/faces.test.ts uses the real matcher.
 */
export function useInstantFaces(t: { h: Harness }): void {
  beforeAll(() => {
    const { faces } = t.h.ctx;
    const quality: FaceQuality = { faces: 1, faceWidth: 100, flags: [] };
    vi.spyOn(faces, 'template').mockResolvedValue({ template: { model: faces.model, descriptor: [0] }, quality });
    vi.spyOn(faces, 'compareTemplates').mockImplementation(
      async (reference, probe): Promise<FaceComparison> => ({
        model: faces.model,
        modelHash: 'test double',
        threshold: faces.threshold,
        score: 1,
        decision: 'match',
        reference: reference.quality,
        probe: probe.quality,
      }),
    );
  });
}
export const b64 = (content: Buffer) => content.toString('base64');

/** What an agent confirms for the sample captures (the sample MRZ's identity and document). */
export const VERIFIED = {
  firstName: 'JANE',
  lastName: 'SMITH',
  dateOfBirth: '1990-01-01',
  gender: 'F',
  nationality: 'NOR',
  documentNumber: 'AB1234567',
  dateOfExpiry: '2031-06-30',
};

export function captureBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { docType: 138, documentFront: b64(images['document-front.png']), selfie: b64(images['selfie.jpg']), mrz: sampleMrz(), ...overrides };
}

export async function videoIdTransaction(h: Harness, rp: Rp, videoidProviderOptions: Record<string, unknown> = { docTypes: [138, 123], defaultId: 138 }) {
  const start = await rp.post('/reuseid/onboarding', { provider: 'signicatvideoid', videoidProviderOptions });
  expect(start.status).toBe(200);
  const device = await h.device();
  const { transactionId, deviceId } = await device.activate(start.body.data.activationCode);
  return { device, transactionId, deviceId, userId: start.body.data.userId as string };
}

export function upload(device: DeviceClient, transactionId: string, body: Record<string, unknown> = captureBody()) {
  return device.call<{ status: string; stage: string; post_operation_context?: { context_content_b64: string; context_mime: string } }>(
    'POST',
    `/device/v1/transactions/${transactionId}/proofing/signicatvideoid`,
    body,
  );
}

/** Awaits a device call that must fail, returning the error status and body. */
export async function failure(call: Promise<unknown>): Promise<{ status: number; body: any }> {
  try {
    await call;
  } catch (error) {
    return error as { status: number; body: any };
  }
  throw new Error('expected the call to fail');
}

let agentCount = 0;
export const AGENT_PASSWORD = 'correct horse battery staple';

/** An agent of the given accounts; by default of all accounts, as the operator's own review team. */
export async function createAgent(h: Pick<Harness, 'ctx'>, accounts: AccountScope = 'all', password = AGENT_PASSWORD) {
  return new AgentStore(h.ctx).create(h.ctx.store.db, { email: `agent${++agentCount}-${Date.now()}@bank.test`, password, accounts });
}

type Response = { status: number; body: string; headers: OutgoingHttpHeaders };

/** A browser-like console client over inject: a cookie jar, same-origin headers, and the CSRF token read from pages. */
export class ConsoleBrowser {
  readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(
    private readonly h: Harness,
    private readonly headers: Record<string, string> = { origin: PUBLIC_URL, 'sec-fetch-site': 'same-origin' },
  ) {}

  async get(path: string, extra: Record<string, string> = {}): Promise<Response> {
    return this.send('GET', path, undefined, extra);
  }

  async post(path: string, form: Record<string, string>, extra: Record<string, string> = {}): Promise<Response> {
    return this.send('POST', path, new URLSearchParams({ _csrf: this.csrf, ...form }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      ...this.headers,
      ...extra,
    });
  }

  async signIn(email: string, password: string): Promise<Response> {
    await this.get('/console/sign-in');
    const response = await this.post('/console/sign-in', { email, password });
    // Follow the redirect as a browser would, which also picks up the session's CSRF token from the page.
    if (response.status === 303) await this.get(String(response.headers.location));
    return response;
  }

  private async send(method: 'GET' | 'POST', path: string, payload: string | undefined, headers: Record<string, string>): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.h.app.inject({
      method,
      url: path,
      headers: { ...headers, ...(cookie ? { cookie } : {}) },
      ...(payload === undefined ? {} : { payload }),
    });
    for (const set of response.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      if (set.value === '' || set.maxAge === 0 || (set.expires && set.expires.getTime() < Date.now())) this.cookies.delete(set.name);
      else this.cookies.set(set.name, set.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (token) this.csrf = token;
    return { status: response.statusCode, body: response.body, headers: response.headers };
  }
}

export async function signedInAgent(h: Harness, accounts: AccountScope = 'all') {
  const agent = await createAgent(h, accounts);
  const browser = new ConsoleBrowser(h);
  const res = await browser.signIn(agent.email, AGENT_PASSWORD);
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/console/queue');
  return { agent, browser };
}

export async function caseIdOf(h: Harness, transactionId: string): Promise<string> {
  const row = await h.ctx.store.db
    .selectFrom('videoid_cases')
    .select('id')
    .where('transaction_id', '=', transactionId)
    .orderBy('attempt', 'desc')
    .executeTakeFirstOrThrow();
  return row.id;
}
