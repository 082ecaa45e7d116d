import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import type { RequestMeta } from '../http/request-meta.js';
import { apiError, ApiError, errors } from '../shared/errors.js';
import { ReasonSchema, ReviewCases, VerifiedFieldsSchema, holdsClaim, type Reason, type ReviewCase } from '../proofing/providers/videoid/cases.js';
import type { CaptureRole } from '../proofing/providers/videoid/capture.js';
import { safeEqual } from '../security/keyring.js';
import { AgentStore, SignIn } from './agents.js';
import type { Html } from './html.js';
import { casePage, messagePage, prefillValues, queuePage, signInPage, type FieldName, type FieldValues } from './pages.js';
import { ConsoleSessions, type Session } from './sessions.js';
import { consoleHeaders, stylesheet } from './static.js';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: Session;
  }
}

type Form = Record<string, string | string[] | undefined>;
const ROLES: readonly CaptureRole[] = ['documentFront', 'documentBack', 'selfie', 'video'];

/**
 * The agent console under /console: sign-in, the review queue, a case with its images and the decision forms.
 * Agents authenticate by a session cookie that is scoped to /console and honoured nowhere else; bearer tokens are
 * not looked at here. Every POST needs the session's synchronizer token and a same-origin request.
 */
export async function consoleRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // Pages for people, not API operations: kept out of the OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const sessions = new ConsoleSessions(ctx);
  const signIn = new SignIn(ctx, new AgentStore(ctx));
  const cases = new ReviewCases(ctx);
  const secure = ctx.config.publicUrl.startsWith('https:');
  const origin = new URL(ctx.config.publicUrl).origin;
  const cookies = {
    session: secure ? '__Secure-reuseid-console' : 'reuseid-console',
    signIn: secure ? '__Secure-reuseid-console-sign-in' : 'reuseid-console-sign-in',
    options: { path: '/console', httpOnly: true, sameSite: 'strict', secure } as const,
  };
  const css = stylesheet();

  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(consoleHeaders(secure));
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error instanceof ApiError ? error.status : error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'console request failed');
    const message = error instanceof ApiError ? error.detail : status < 500 ? 'The request could not be processed.' : 'Something went wrong; the trace id in the response headers identifies it in the server logs.';
    return page(reply.status(status), messagePage(request.consoleSession ?? null, status === 409 ? 'Not possible now' : 'Error', message));
  });
  app.setNotFoundHandler((request, reply) => {
    const allowed = app.allowedMethods(request.url);
    if (!allowed.length) return page(reply.status(404), messagePage(request.consoleSession ?? null, 'Not found', 'There is no such page.'));
    return page(reply.status(405).header('Allow', allowed.join(', ')), messagePage(request.consoleSession ?? null, 'Not possible', `This page does not answer ${request.method}.`));
  });

  /** Refuses cross-site form posts: the browser's Origin and Fetch Metadata headers must say same origin. */
  const sameOrigin = (request: FastifyRequest) => {
    const site = request.headers['sec-fetch-site'];
    return (request.headers.origin === undefined || request.headers.origin === origin) && (site === undefined || site === 'same-origin');
  };
  const meta = (request: FastifyRequest): RequestMeta & { ipAddress: string } => ({ traceId: request.id, ipAddress: request.ip });
  const signInToken = (nonce: string) => ctx.keyring.keyedHash('console-sign-in-form', nonce);

  app.get('/static/console.css', async (_request, reply) => reply.header('Cache-Control', 'no-cache').type('text/css; charset=utf-8').send(css));
  app.get('/', async (_request, reply) => reply.redirect('/console/queue', 303));

  // Sign-in has no session yet: its form is protected by a double-submit token bound to a cookie nonce.
  app.get('/sign-in', async (request, reply) => {
    const nonce = request.cookies[cookies.signIn] ?? ctx.random.bytes(32).toString('base64url');
    reply.setCookie(cookies.signIn, nonce, { ...cookies.options, path: '/console/sign-in', maxAge: 3600 });
    return page(reply, signInPage(signInToken(nonce)));
  });

  app.post('/sign-in', async (request, reply) => {
    const form = request.body as Form;
    const nonce = request.cookies[cookies.signIn];
    const email = field(form, 'email');
    if (!nonce || !sameOrigin(request) || !safeEqual(field(form, '_csrf'), signInToken(nonce))) {
      return page(reply.status(403), messagePage(null, 'Sign-in expired', 'The sign-in form has expired. Load the sign-in page again.'));
    }
    const retry = (status: number, error: string) => page(reply.status(status), signInPage(signInToken(nonce), { email, error }));
    let agent;
    try {
      agent = await signIn.authenticate({ email, password: field(form, 'password') }, meta(request));
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) return retry(429, 'Too many failed sign-ins. Sign-in is locked for a while; try again later or ask an administrator.');
      throw error;
    }
    if (!agent) return retry(401, 'The email or the password is not right.');
    const previous = request.cookies[cookies.session];
    if (previous) await sessions.destroy(previous);
    const session = await sessions.create(agent);
    reply.setCookie(cookies.session, session.id, cookies.options);
    reply.clearCookie(cookies.signIn, { ...cookies.options, path: '/console/sign-in' });
    return reply.redirect('/console/queue', 303);
  });

  await app.register(async (authed) => {
    authed.addHook('preHandler', async (request, reply) => {
      const session = await sessions.resolve(request.cookies[cookies.session]);
      if (!session) return reply.redirect('/console/sign-in', 303);
      request.consoleSession = session;
      if (request.method === 'POST' && (!sameOrigin(request) || !sessions.checkCsrf(session, (request.body as Form | undefined)?._csrf))) {
        return page(reply.status(403), messagePage(session, 'Form expired', 'This form is no longer valid (or did not come from this console). Go back, reload the page and try again.'));
      }
    });
    const sessionOf = (request: FastifyRequest) => request.consoleSession!;
    const caseParams = (request: FastifyRequest) => (request.params as { caseId: string }).caseId;

    authed.post('/sign-out', async (request, reply) => {
      await sessions.destroy(sessionOf(request).id);
      reply.clearCookie(cookies.session, cookies.options);
      return reply.redirect('/console/sign-in', 303);
    });

    authed.get('/queue', async (request, reply) => {
      const entries = await cases.queue();
      const emails = await agentEmails(ctx, entries.map((c) => c.claimedBy));
      const notice = (request.query as { done?: string }).done;
      return page(reply, queuePage(sessionOf(request), entries.map((c) => ({ reviewCase: c, claimedByEmail: c.claimedBy ? emails.get(c.claimedBy) ?? null : null })), ctx.clock.now(), notice));
    });

    authed.post('/cases/:caseId/claim', async (request, reply) => {
      try {
        await cases.claim(caseParams(request), sessionOf(request).agent.id, meta(request));
      } catch (error) {
        // Taken by someone else or decided meanwhile: the case page says which.
        if (!(error instanceof ApiError && error.status === 409)) throw error;
      }
      return reply.redirect(`/console/cases/${encodeURIComponent(caseParams(request))}`, 303);
    });

    authed.get('/cases/:caseId', async (request, reply) => {
      const reviewCase = await requireCase(cases, caseParams(request));
      return page(reply, await renderCase(ctx, cases, sessionOf(request), reviewCase));
    });

    authed.post('/cases/:caseId/release', async (request, reply) => {
      await cases.release(caseParams(request), sessionOf(request).agent.id);
      return reply.redirect('/console/queue?done=released', 303);
    });

    authed.post('/cases/:caseId/approve', async (request, reply) => {
      const session = sessionOf(request);
      const reviewCase = await requireCase(cases, caseParams(request));
      const values = formValues(request.body as Form);
      const parsed = VerifiedFieldsSchema.safeParse(values);
      const retry = async (errors: FieldValues) => page(reply.status(422), await renderCase(ctx, cases, session, reviewCase, { values, errors }));
      if (!parsed.success) return retry(Object.fromEntries(parsed.error.issues.map((issue) => [String(issue.path[0]), issue.message])));
      try {
        await cases.approve(reviewCase.id, session.agent.id, parsed.data, meta(request));
      } catch (error) {
        if (error instanceof ApiError && error.invalidParams) return retry(Object.fromEntries(error.invalidParams.map((p) => [p.name, p.reason])));
        throw error;
      }
      return reply.redirect('/console/queue?done=approved', 303);
    });

    authed.post('/cases/:caseId/reject', async (request, reply) => {
      const reason = reasonOf(request.body as Form);
      await cases.reject(caseParams(request), sessionOf(request).agent.id, reason, meta(request));
      return reply.redirect('/console/queue?done=rejected', 303);
    });

    authed.post('/cases/:caseId/request-capture', async (request, reply) => {
      const reason = reasonOf(request.body as Form);
      const tx = await cases.requestCapture(caseParams(request), sessionOf(request).agent.id, reason, meta(request));
      return reply.redirect(`/console/queue?done=${tx.status === 'Failed' ? 'rejected' : 'capture-requested'}`, 303);
    });

    authed.get('/cases/:caseId/evidence/:role', async (request, reply) => {
      const role = (request.params as { role: string }).role as CaptureRole;
      const item = ROLES.includes(role) ? await cases.evidence(caseParams(request), sessionOf(request).agent.id, role) : null;
      if (!item) return reply.status(404).type('text/plain; charset=utf-8').send('Not found');
      return reply.header('Content-Disposition', 'inline').type(item.mediaType).send(item.content);
    });
  });
}

function page(reply: FastifyReply, body: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(body.value);
}

function field(form: Form | undefined, name: string): string {
  const value = form?.[name];
  return typeof value === 'string' ? value : '';
}

function reasonOf(form: Form): Reason {
  const parsed = ReasonSchema.safeParse(field(form, 'reason'));
  if (!parsed.success) throw errors.invalidParameters([{ name: 'reason', reason: 'choose one of the listed reasons' }]);
  return parsed.data;
}

const FIELD_NAMES: FieldName[] = ['firstName', 'lastName', 'dateOfBirth', 'gender', 'nationality', 'documentNumber', 'dateOfExpiry'];

function formValues(form: Form): FieldValues {
  return Object.fromEntries(FIELD_NAMES.map((name) => [name, field(form, name)]));
}

async function requireCase(cases: ReviewCases, caseId: string): Promise<ReviewCase> {
  const reviewCase = caseId.length <= 100 ? await cases.find(caseId) : null;
  if (!reviewCase) throw apiError('case_not_found', 'There is no such case.');
  return reviewCase;
}

/** The case page: images and forms for the agent holding the claim, otherwise who holds it (and nothing personal). */
async function renderCase(ctx: AppContext, cases: ReviewCases, session: Session, reviewCase: ReviewCase, retry?: { values: FieldValues; errors: FieldValues }): Promise<Html> {
  const now = ctx.clock.now();
  if (!holdsClaim(reviewCase, session.agent.id, now)) {
    const emails = await agentEmails(ctx, [reviewCase.claimedBy]);
    return casePage(session, { reviewCase, now, claimedByEmail: reviewCase.claimedBy ? emails.get(reviewCase.claimedBy) ?? null : null });
  }
  const prefill = await cases.prefill(reviewCase);
  return casePage(session, { reviewCase, now, review: { prefill, values: retry?.values ?? prefillValues(prefill), errors: retry?.errors ?? {} } });
}

async function agentEmails(ctx: AppContext, ids: (string | null)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  if (!wanted.length) return new Map();
  const rows = await ctx.store.db.selectFrom('console_agents').select(['id', 'email']).where('id', 'in', wanted).execute();
  return new Map(rows.map((row) => [row.id, row.email]));
}
