import { describe, expect, it } from 'vitest';
import { isPublicAddress, parseWebhookUrl, resolveWebhookTarget, type Resolver } from '../../src/events/ssrf.js';

/** One address inside each range of the IANA special-purpose registries (and multicast): none may be a webhook target. */
const REFUSED: [range: string, address: string][] = [
  ['0.0.0.0/8', '0.1.2.3'],
  ['10.0.0.0/8', '10.20.30.40'],
  ['100.64.0.0/10', '100.127.255.254'],
  ['127.0.0.0/8', '127.8.9.10'],
  ['169.254.0.0/16', '169.254.169.254'],
  ['172.16.0.0/12', '172.31.0.1'],
  ['192.0.0.0/24', '192.0.0.9'],
  ['192.0.2.0/24', '192.0.2.1'],
  ['192.31.196.0/24', '192.31.196.1'],
  ['192.52.193.0/24', '192.52.193.1'],
  ['192.88.99.0/24', '192.88.99.1'],
  ['192.168.0.0/16', '192.168.1.1'],
  ['192.175.48.0/24', '192.175.48.1'],
  ['198.18.0.0/15', '198.19.0.1'],
  ['198.51.100.0/24', '198.51.100.7'],
  ['203.0.113.0/24', '203.0.113.9'],
  ['224.0.0.0/4', '239.1.2.3'],
  ['240.0.0.0/4', '250.1.2.3'],
  ['255.255.255.255/32', '255.255.255.255'],
  ['::/128', '::'],
  ['::1/128', '::1'],
  ['::ffff:0:0/96 carrying loopback', '::ffff:127.0.0.1'],
  ['::ffff:0:0/96 carrying link-local', '::ffff:a9fe:a9fe'],
  ['::/96 IPv4-compatible loopback', '::7f00:1'],
  ['::/96 IPv4-compatible link-local', '::a9fe:a9fe'],
  ['::/96 IPv4-compatible public', '::808:808'],
  ['64:ff9b::/96', '64:ff9b::808:808'],
  ['64:ff9b:1::/48', '64:ff9b:1::1'],
  ['100::/64', '100::1'],
  ['2001::/32 Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ['2001:2::/48', '2001:2::1'],
  ['2001:10::/28', '2001:10::1'],
  ['2001:20::/28', '2001:20::1'],
  ['2001::/23', '2001:1ff::1'],
  ['2001:db8::/32', '2001:db8::1'],
  ['2002::/16', '2002:808:808::1'],
  ['3fff::/20', '3fff::1'],
  ['5f00::/16', '5f00::1'],
  ['fc00::/7', 'fd12:3456::1'],
  ['fe80::/10', 'fe80::1'],
  ['ff00::/8', 'ff02::1'],
];

const PUBLIC = ['8.8.8.8', '1.1.1.1', '93.184.215.14', '::ffff:8.8.8.8', '2606:4700:4700::1111', '2001:4860:4860::8888'];

describe('SSRF guard: special-purpose addresses', () => {
  it.each(REFUSED)('refuses %s (%s)', (_range, address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(PUBLIC)('admits the global unicast address %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('refuses an IPv4-compatible IPv6 literal in a URL, naming the range', async () => {
    const unused: Resolver = async () => [];
    for (const url of ['https://[::7f00:1]/hook', 'https://[::a9fe:a9fe]/latest/meta-data']) {
      const refused = resolveWebhookTarget(parseWebhookUrl(url, false), { allowPrivate: false, resolve: unused });
      await expect(refused).rejects.toThrow(/non-public address \(::\/96\)/);
    }
  });
});
