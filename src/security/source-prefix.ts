import ipaddr from 'ipaddr.js';

/**
 * The network prefixes a source address is counted under. One host rarely holds one address: an IPv4 attacker can
 * usually pick any address of a /24, and an IPv6 subscriber is routed a whole /64 (often a /48 or /56), so limits
 * counted per address are limits per attacker-chosen label. `narrow` is the prefix a per-source bound counts by
 * (/24 IPv4, /64 IPv6); `wide` is the prefix one site or customer usually holds (/24 IPv4, /48 IPv6), used where a
 * bound must not multiply with the addresses a single attacker can cheaply hold. IPv4-mapped IPv6 addresses count as
 * the IPv4 address they carry. Anything unparsable (inject's default, a Unix socket) is its own prefix.
 */
export interface SourcePrefixes {
  narrow: string;
  wide: string;
}

export function sourcePrefixes(address: string): SourcePrefixes {
  if (!ipaddr.isValid(address)) return { narrow: address, wide: address };
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') {
    const v4 = `${prefixOf(parsed, 24)}/24`;
    return { narrow: v4, wide: v4 };
  }
  return { narrow: `${prefixOf(parsed, 64)}/64`, wide: `${prefixOf(parsed, 48)}/48` };
}

/**
 * The key a per-source request rate counts by: an IPv4 address as it is (carrier-grade NAT puts many customers behind
 * one address, and a /24 would make a few hundred of them share one budget), an IPv6 address as its /64 (one
 * subscriber's allotment: counting each of its 2^64 addresses apart would let one host multiply any bound at will).
 * Guessing bounds count by the prefixes above instead.
 */
export function requestSource(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  return parsed.kind() === 'ipv4' ? parsed.toString() : `${prefixOf(parsed, 64)}/64`;
}

/** The network address of `address`'s /bits, in normal form. */
function prefixOf(address: ipaddr.IPv4 | ipaddr.IPv6, bits: number): string {
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes).toString();
}
