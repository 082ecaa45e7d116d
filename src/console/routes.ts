import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import type { RequestMeta } from '../http/request-meta.js';
import { ApiError } from '../shared/errors.js';
import { ReviewCases, VerifiedFieldsSchema, holdsClaim, type ReviewCase } from '../proofing/providers/videoid/cases.js';
import type { CaptureRole } from '../proofing/providers/videoid/capture.js';
import { type Agent, AgentStore, SignIn } from './agents.js';
import { field, formValues, reasonOf, type Form } from './forms.js';
import { ConsoleGuard, sessionOf } from './guard.js';
import { registerSecurityHeaders } from './headers.js';
import type { Html } from './html.js';
import { casePage, messagePage, prefillValues, queuePage, sendPage, signInPage, type FieldValues } from './pages.js';
import type { EnrolledView } from './face-pages.js';
import type { User } from '../identity/users.js';
import { ConsoleSessions, type Session } from './sessions.js';
import { stylesheet } from './static.js';

/** What the console uses of the server. */
export type ConsoleDeps = Pick<
  AppContext,
  | 'config'
  | 'store'
  | 'db'
  | 'clock'
  | 'random'
  | 'keyring'
  | 'audit'
  | 'users'
  | 'evidence'
  | 'flows'
  | 'proofing'
  | 'faces'
  | 'referenceFaces'
  | 'rateCounters'
>;

/** What the console's handlers work with. */
interface Console {
  ctx: ConsoleDeps;
  guard: ConsoleGuard;
  signIn: SignIn;
  agents: AgentStore;
  cases: ReviewCases;
}
type Handler = (c: Console, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

const ROLES: readonly CaptureRole[] = ['documentFront', 'documentBack', 'selfie', 'video'];

/**
 * The agent console under /console: sign-in, the review queue, a case with its images and the decision forms.
 * ConsoleGuard decides who may use it; the handlers below each do one action.
 */
export async function consoleRoutes(app: FastifyInstance, ctx: ConsoleDeps): Promise<void> {
  // Pages for people, not API operations: kept out of the OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const agents = new AgentStore(ctx);
  const c: Console = { ctx, guard: new ConsoleGuard(ctx, new ConsoleSessions(ctx)), signIn: new SignIn(ctx, agents), agents, cases: new ReviewCases(ctx) };
  const on = (handler: Handler) => (request: FastifyRequest, reply: FastifyReply) => handler(c, request, reply);
  const css = stylesheet();

  await registerSecurityHeaders(app, c.guard.secure);
  app.setErrorHandler(errorPage);
  app.setNotFoundHandler((request, reply) => {
    const allowed = app.allowedMethods(request.url);
    if (!allowed.length) return sendPage(reply.status(404), messagePage(request.consoleSession ?? null, 'Not found', 'There is no such page.'));
    return sendPage(
      reply.status(405).header('Allow', allowed.join(', ')),
      messagePage(request.consoleSession ?? null, 'Not possible', `This page does not answer ${request.method}.`),
    );
  });

  app.get('/static/console.css', async (_request, reply) => reply.header('Cache-Control', 'no-cache').type('text/css; charset=utf-8').send(css));
  app.get('/', async (_request, reply) => reply.redirect('/console/queue', 303));
  app.get('/sign-in', on(showSignIn));
  app.post('/sign-in', on(submitSignIn));

  await app.register(async (authed) => {
    authed.addHook('preHandler', c.guard.requireSession);
    authed.post('/sign-out', on(signOut));
    authed.get('/queue', on(showQueue));
    authed.post('/cases/:caseId/claim', on(claimCase));
    authed.get('/cases/:caseId', on(showCase));
    authed.post('/cases/:caseId/release', on(releaseCase));
    authed.post('/cases/:caseId/approve', on(approveCase));
    authed.post('/cases/:caseId/reject', on(rejectCase));
    authed.post('/cases/:caseId/request-capture', on(requestCapture));
    authed.get('/cases/:caseId/evidence/:role', on(showEvidence));
    authed.get('/cases/:caseId/enrolled-face', on(showEnrolledFace));
  });
}

function errorPage(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error instanceof ApiError ? error.status : error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
  if (status >= 500) request.log.error({ err: error }, 'console request failed');
  const message =
    error instanceof ApiError
      ? error.detail
      : status < 500
        ? 'The request could not be processed.'
        : 'Something went wrong; the trace id in the response headers identifies it in the server logs.';
  return sendPage(reply.status(status), messagePage(request.consoleSession ?? null, status === 409 ? 'Not possible now' : 'Error', message));
}

async function showSignIn(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return sendPage(reply, signInPage(c.guard.signInFormToken(request, reply)));
}

async function submitSignIn(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const token = c.guard.checkSignInForm(request);
  if (!token) return sendPage(reply.status(403), messagePage(null, 'Sign-in expired', 'The sign-in form has expired. Load the sign-in page again.'));
  const form = request.body as Form;
  const email = field(form, 'email');
  const retry = (status: number, error: string) => sendPage(reply.status(status), signInPage(token, { email, error }));
  let agent: Agent | null;
  try {
    agent = await c.signIn.authenticate({ email, password: field(form, 'password') }, meta(request));
  } catch (error) {
    if (error instanceof ApiError && error.status === 429)
      return retry(429, 'Too many failed sign-ins. Sign-in is locked for a while; try again later or ask an administrator.');
    throw error;
  }
  if (!agent) return retry(401, 'The email or the password is not right.');
  await c.guard.startSession(request, reply, agent);
  return reply.redirect('/console/queue', 303);
}

async function signOut(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  await c.guard.endSession(request, reply);
  return reply.redirect('/console/sign-in', 303);
}

async function showQueue(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const entries = await c.cases.queue(sessionOf(request).agent);
  const emails = await c.agents.emails(
    c.ctx.store.db,
    entries.map((entry) => entry.claimedBy),
  );
  const rows = entries.map((reviewCase) => ({ reviewCase, claimedByEmail: claimedByEmail(reviewCase, emails) }));
  const notice = (request.query as { done?: string }).done;
  return sendPage(reply, queuePage(sessionOf(request), rows, c.ctx.clock.now(), notice));
}

async function claimCase(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  try {
    await c.cases.claim(caseIdOf(request), sessionOf(request).agent, meta(request));
  } catch (error) {
    // Taken by someone else or decided meanwhile: the case page says which.
    if (!(error instanceof ApiError && error.status === 409)) throw error;
  }
  return reply.redirect(`/console/cases/${encodeURIComponent(caseIdOf(request))}`, 303);
}

async function showCase(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const reviewCase = await c.cases.require(caseIdOf(request), sessionOf(request).agent);
  return sendPage(reply, await renderCase(c, sessionOf(request), reviewCase));
}

async function releaseCase(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  await c.cases.release(caseIdOf(request), sessionOf(request).agent);
  return reply.redirect('/console/queue?done=released', 303);
}

async function approveCase(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const session = sessionOf(request);
  const reviewCase = await c.cases.require(caseIdOf(request), session.agent);
  const values = formValues(request.body as Form);
  const parsed = VerifiedFieldsSchema.safeParse(values);
  const retry = async (errors: FieldValues) => sendPage(reply.status(422), await renderCase(c, session, reviewCase, { values, errors }));
  if (!parsed.success) return retry(Object.fromEntries(parsed.error.issues.map((issue) => [String(issue.path[0]), issue.message])));
  try {
    await c.cases.approve(reviewCase.id, session.agent, parsed.data, meta(request));
  } catch (error) {
    if (error instanceof ApiError && error.invalidParams) return retry(Object.fromEntries(error.invalidParams.map((p) => [p.name, p.reason])));
    throw error;
  }
  return reply.redirect('/console/queue?done=approved', 303);
}

async function rejectCase(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const reason = reasonOf(request.body as Form);
  await c.cases.reject(caseIdOf(request), sessionOf(request).agent, reason, meta(request));
  return reply.redirect('/console/queue?done=rejected', 303);
}

async function requestCapture(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const reason = reasonOf(request.body as Form);
  const tx = await c.cases.requestCapture(caseIdOf(request), sessionOf(request).agent, reason, meta(request));
  return reply.redirect(`/console/queue?done=${tx.status === 'Failed' ? 'rejected' : 'capture-requested'}`, 303);
}

async function showEvidence(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const role = (request.params as { role: string }).role as CaptureRole;
  const item = ROLES.includes(role) ? await c.cases.evidence(caseIdOf(request), sessionOf(request).agent, role) : null;
  return sendImage(reply, item);
}

/** The enrolled reference face of a step-up's user: like the case images, only to the agent holding the claim. */
async function showEnrolledFace(c: Console, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return sendImage(reply, await c.cases.enrolledPhoto(caseIdOf(request), sessionOf(request).agent));
}

/** An image or video for the page (never cached: the console's hook sets no-store), or 404. */
function sendImage(reply: FastifyReply, item: { mediaType: string; content: Buffer } | null): FastifyReply {
  if (!item) return reply.status(404).type('text/plain; charset=utf-8').send('Not found');
  return reply.header('Content-Disposition', 'inline').type(item.mediaType).send(item.content);
}

function meta(request: FastifyRequest): RequestMeta & { ipAddress: string } {
  return { traceId: request.id, ipAddress: request.ip };
}

function caseIdOf(request: FastifyRequest): string {
  return (request.params as { caseId: string }).caseId;
}

function claimedByEmail(reviewCase: ReviewCase, emails: Map<string, string>): string | null {
  return reviewCase.claimedBy ? (emails.get(reviewCase.claimedBy) ?? null) : null;
}

/** The case page: images and forms for the agent holding the claim, otherwise who holds it (and nothing personal). */
async function renderCase(c: Console, session: Session, reviewCase: ReviewCase, retry?: { values: FieldValues; errors: FieldValues }): Promise<Html> {
  const now = c.ctx.clock.now();
  if (!holdsClaim(reviewCase, session.agent.id, now)) {
    const emails = await c.agents.emails(c.ctx.store.db, [reviewCase.claimedBy]);
    return casePage(session, { reviewCase, now, claimedByEmail: claimedByEmail(reviewCase, emails) });
  }
  const prefill = await c.cases.prefill(reviewCase);
  const { tx, user } = await c.cases.subject(reviewCase);
  const faces = await c.cases.faces(reviewCase, user);
  const enrolled = tx.kind === 'stepup' ? await enrolledView(c, user) : null;
  return casePage(session, {
    reviewCase,
    now,
    review: { prefill, faces, enrolled, values: retry?.values ?? prefillValues(prefill), errors: retry?.errors ?? {} },
  });
}

/** A step-up user's enrolled identity (verified attributes) and whether the reference face has a photo. */
async function enrolledView(c: Console, user: User): Promise<EnrolledView> {
  const { db } = c.ctx.store;
  const attributes = await c.ctx.users.readAttributes(db, user);
  const reference = await c.ctx.referenceFaces.find(db, user, c.ctx.faces.model);
  const enrolledName = attributes.firstName;
  return {
    attributes: Object.fromEntries(Object.entries(attributes).map(([name, attribute]) => [name, attribute.value])),
    enrolledBy: enrolledName ? { provider: enrolledName.provider, verifiedAt: enrolledName.verifiedAt } : null,
    hasPhoto: reference?.photo != null,
  };
}
