import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Keyring } from '../security/keyring.js';
import type { RandomSource } from '../shared/runtime.js';
import { safeEqual } from '../security/keyring.js';
import type { Agent } from './agents.js';
import { field, type Form } from './forms.js';
import { messagePage, sendPage } from './pages.js';
import type { ConsoleSessions, Session } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: Session;
  }
}

const SIGN_IN_PATH = '/console/sign-in';
const SIGN_IN_NONCE_SECONDS = 3600;

/**
 * Who may use the console. Agents authenticate by a session cookie that is scoped to /console and honoured nowhere
 * else; bearer tokens are not looked at here. Every POST must come from the console's own origin and carry the
 * session's synchronizer token; sign-in, having no session yet, carries a double-submit token bound to a cookie nonce.
 */
export class ConsoleGuard {
  /** Whether the console is served over https: cookies are then Secure (and __Secure- prefixed), HSTS is sent. */
  readonly secure: boolean;
  private readonly origin: string;
  private readonly cookies: { session: string; signIn: string; options: { path: string; httpOnly: true; sameSite: 'strict'; secure: boolean } };

  constructor(
    private readonly ctx: { config: Pick<Config, 'publicUrl'>; keyring: Pick<Keyring, 'keyedHash'>; random: RandomSource },
    private readonly sessions: ConsoleSessions,
  ) {
    this.secure = ctx.config.publicUrl.startsWith('https:');
    this.origin = new URL(ctx.config.publicUrl).origin;
    this.cookies = {
      session: this.secure ? '__Secure-reuseid-console' : 'reuseid-console',
      signIn: this.secure ? '__Secure-reuseid-console-sign-in' : 'reuseid-console-sign-in',
      options: { path: '/console', httpOnly: true, sameSite: 'strict', secure: this.secure },
    };
  }

  /** The sign-in form's token, bound to the browser's nonce cookie (set now if it has none). */
  signInFormToken(request: FastifyRequest, reply: FastifyReply): string {
    const nonce = request.cookies[this.cookies.signIn] ?? this.ctx.random.bytes(32).toString('base64url');
    reply.setCookie(this.cookies.signIn, nonce, { ...this.cookies.options, path: SIGN_IN_PATH, maxAge: SIGN_IN_NONCE_SECONDS });
    return this.signInToken(nonce);
  }

  /** The token of a posted sign-in form, to render again on a retry; null when the form is expired or cross-site. */
  checkSignInForm(request: FastifyRequest): string | null {
    const nonce = request.cookies[this.cookies.signIn];
    if (!nonce || !this.sameOrigin(request)) return null;
    const token = this.signInToken(nonce);
    return safeEqual(field(request.body as Form, '_csrf'), token) ? token : null;
  }

  /** Starts a session for an agent who signed in; a session the browser held before ends, so none is ever reused. */
  async startSession(request: FastifyRequest, reply: FastifyReply, agent: Agent): Promise<void> {
    const previous = request.cookies[this.cookies.session];
    if (previous) await this.sessions.destroy(previous);
    const session = await this.sessions.create(agent);
    reply.setCookie(this.cookies.session, session.id, this.cookies.options);
    reply.clearCookie(this.cookies.signIn, { ...this.cookies.options, path: SIGN_IN_PATH });
  }

  async endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.sessions.destroy(sessionOf(request).id);
    reply.clearCookie(this.cookies.session, this.cookies.options);
  }

  /** preHandler of every page behind sign-in: a live session, and for a POST its token from the console's origin. */
  readonly requireSession = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const session = await this.sessions.resolve(request.cookies[this.cookies.session]);
    if (!session) return reply.redirect(SIGN_IN_PATH, 303);
    request.consoleSession = session;
    if (request.method === 'POST' && (!this.sameOrigin(request) || !this.sessions.checkCsrf(session, (request.body as Form | undefined)?._csrf))) {
      return sendPage(
        reply.status(403),
        messagePage(session, 'Form expired', 'This form is no longer valid (or did not come from this console). Go back, reload the page and try again.'),
      );
    }
    return undefined;
  };

  /** Refuses cross-site form posts: the browser's Origin and Fetch Metadata headers must say same origin. */
  private sameOrigin(request: FastifyRequest): boolean {
    const site = request.headers['sec-fetch-site'];
    return (request.headers.origin === undefined || request.headers.origin === this.origin) && (site === undefined || site === 'same-origin');
  }

  private signInToken(nonce: string): string {
    return this.ctx.keyring.keyedHash('console-sign-in-form', nonce);
  }
}

/** The session of a request past requireSession. */
export function sessionOf(request: FastifyRequest): Session {
  return request.consoleSession!;
}
