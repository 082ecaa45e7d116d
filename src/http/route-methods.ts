import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods some route answers at this request path (query ignored): empty when no route has the path. */
    allowedMethods(url: string): string[];
  }
}

interface PathMethods {
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * Records every route's path and method as it is added, so that a request the router did not match can be told
 * apart: a known path with another method (405, with Allow) or an unknown path (404). The router itself only
 * answers for a method and a path together. Must be installed before any route is added.
 */
export function recordRouteMethods(app: FastifyInstance): void {
  const paths = new Map<string, PathMethods>();
  app.addHook('onRoute', (route) => {
    const entry = paths.get(route.url) ?? { pattern: pathPattern(route.url), methods: new Set<string>() };
    paths.set(route.url, entry);
    for (const method of [route.method].flat()) entry.methods.add(method);
  });
  app.decorate('allowedMethods', (url: string) => {
    const path = url.split('?')[0] ?? '';
    const allowed = new Set<string>();
    for (const { pattern, methods } of paths.values()) if (pattern.test(path)) for (const method of methods) allowed.add(method);
    return [...allowed].sort();
  });
}

/** `/a/:id/b` matches one non-empty segment for `:id`; a trailing `*` matches the rest of the path. */
function pathPattern(routeUrl: string): RegExp {
  const source = routeUrl
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
