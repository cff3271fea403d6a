/**
 * The host a peer address belongs to, for per-host caps on what callers and peer lists can make
 * us hold: its port is the announcer's own word, so one machine can name any number of them. The
 * key is the one the request rate limits use (transport/rate-limit.ts): an IPv4 address, an IPv6
 * address's /64 (one host typically owns a whole /64), an IPv4-mapped IPv6 address as its IPv4;
 * a host name, lower-case, without its port; a bare name as it is.
 */
import { isLoopbackIp, parsePeerAddress } from '../peer-address.js';
import { hostKey } from '../transport/rate-limit.js';

/** Peer addresses of one host kept at most in a list a remote party can grow (pending candidates, early contacts, pullers). */
export const MAX_ADDRESSES_PER_HOST = 4;

/** The host key of a peer address (see above); an address that does not parse is its own key. */
export function hostOf(address: string): string {
  const peer = parsePeerAddress(address);
  if (peer === undefined) return address;
  return peer.family === 'name' ? peer.host.toLowerCase() : hostKey(peer);
}

/** The hostOf key of IPv6 ::1's /64 (the rest of it is unspecified or reserved, which no default policy admits). */
const IPV6_LOOPBACK_KEY = hostOf('[::1]:1');

/**
 * Whether a hostOf key is this machine's loopback: 127.0.0.0/8 (mapped into IPv6 too), ::1's
 * /64, "localhost" and names under it. What per-host caps may spare, as the transport spares
 * loopback callers (HttpLimits.perHostLimitsOnLoopback).
 */
export function isLoopbackHost(host: string): boolean {
  return isLoopbackIp(host) || host === IPV6_LOOPBACK_KEY || host === 'localhost' || host.endsWith('.localhost');
}
