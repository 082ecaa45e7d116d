import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/**
 * SSRF guard for webhook targets. A subscription URL is attacker-controlled input that makes this server send
 * requests, so it may only reach public unicast addresses: loopback, private, link-local, unique-local, multicast,
 * unspecified, carrier-grade NAT, documentation and other special ranges are refused, and so are names resolving to
 * any of them. The caller connects to the address checked here (see transport.ts), so a DNS answer that changes
 * between check and connect (rebinding) cannot redirect the request. `allowPrivate` (REUSEID_WEBHOOK_ALLOW_PRIVATE)
 * lifts the address check and admits plain http, for tests and local demos only.
 */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export class WebhookTargetRefused extends Error {}

export const MAX_URL_LENGTH = 2000;

/** The URL's form: absolute http(s), https unless private targets are allowed, no embedded credentials. */
export function parseWebhookUrl(text: string, allowPrivate: boolean): URL {
  if (text.length > MAX_URL_LENGTH) throw new WebhookTargetRefused(`the URL is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookTargetRefused('not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookTargetRefused('only http and https URLs are supported');
  if (url.protocol === 'http:' && !allowPrivate) throw new WebhookTargetRefused('https is required');
  // Credentials in a URL end up in logs and audit views; receivers authenticate deliveries by signature instead.
  if (url.username || url.password) throw new WebhookTargetRefused('the URL must not contain credentials');
  return url;
}

/** Resolves the URL's host and returns the one address to connect to, refusing non-public answers. */
export async function resolveWebhookTarget(url: URL, options: { allowPrivate: boolean; resolve: Resolver }): Promise<ResolvedAddress> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = ipaddr.isValid(host)
    ? [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 } as const]
    : await resolveName(host, options.resolve);
  if (!options.allowPrivate) {
    // Every answer must be public: a mix is the classic way to slip a private address past a check of the first one.
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) throw new WebhookTargetRefused(`${host} resolves to a non-public address (${rangeOf(refused.address)})`);
  }
  return addresses[0]!;
}

async function resolveName(host: string, resolve: Resolver): Promise<ResolvedAddress[]> {
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    throw new WebhookTargetRefused(`${host} could not be resolved`);
  }
  if (!addresses.length) throw new WebhookTargetRefused(`${host} could not be resolved`);
  return addresses;
}

export function isPublicAddress(address: string): boolean {
  return rangeOf(address) === 'unicast';
}

/**
 * The IANA IPv4 and IPv6 special-purpose address registries (and multicast), checked besides ipaddr.js's range names
 * so that only global unicast passes whatever ipaddr.js's own table leaves out (it calls IPv4-compatible IPv6, ::/96,
 * unicast). NAT64 and 6to4 prefixes are refused outright: they reach an IPv4 address this check cannot see through
 * to reliably. IPv4-mapped IPv6 (::ffff:0:0/96) is not listed: it is judged as the IPv4 address it carries.
 */
const SPECIAL_PURPOSE_RANGES: Record<'ipv4' | 'ipv6', readonly [ipaddr.IPv4 | ipaddr.IPv6, number][]> = {
  ipv4: [
    '0.0.0.0/8',
    '10.0.0.0/8',
    '100.64.0.0/10',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.0.0.0/24',
    '192.0.2.0/24',
    '192.31.196.0/24',
    '192.52.193.0/24',
    '192.88.99.0/24',
    '192.168.0.0/16',
    '192.175.48.0/24',
    '198.18.0.0/15',
    '198.51.100.0/24',
    '203.0.113.0/24',
    '224.0.0.0/4',
    '240.0.0.0/4',
    '255.255.255.255/32',
  ].map((cidr) => ipaddr.parseCIDR(cidr)),
  ipv6: [
    '::/128',
    '::1/128',
    '::/96',
    '64:ff9b::/96',
    '64:ff9b:1::/48',
    '100::/64',
    '2001::/23',
    '2001:db8::/32',
    '2002::/16',
    '3fff::/20',
    '5f00::/16',
    'fc00::/7',
    'fe80::/10',
    'ff00::/8',
  ].map((cidr) => ipaddr.parseCIDR(cidr)),
};

/**
 * 'unicast' for a global unicast address; otherwise what it is: the ipaddr.js range name, or the special-purpose CIDR
 * it falls in where ipaddr.js calls it unicast. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
 */
function rangeOf(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  const parsed = ipaddr.process(address);
  const named = parsed.range();
  if (named !== 'unicast') return named;
  const special = SPECIAL_PURPOSE_RANGES[parsed.kind()].find((range) => parsed.match(range));
  return special ? `${special[0].toString()}/${special[1]}` : named;
}
