/**
 * The host a peer address belongs to, for per-host caps on what callers and peer lists can make
 * us hold: its port is the announcer's own word, so one machine can name any number of them. The
 * key is the one the request rate limits use (transport/rate-limit.ts): an IPv4 address, an IPv6
 * address's /64 (one host typically owns a whole /64), an IPv4-mapped IPv6 address as its IPv4;
 * a host name, lower-case, without its port; a bare name as it is.
 */
import { parsePeerAddress } from '../peer-address.js';
import { hostKey } from '../transport/rate-limit.js';

/** Peer addresses of one host kept at most in a list a remote party can grow (pending candidates, early contacts, pullers). */
export const MAX_ADDRESSES_PER_HOST = 4;

export function hostOf(address: string): string {
  const peer = parsePeerAddress(address);
  if (peer === undefined) return address;
  return peer.family === 'name' ? peer.host.toLowerCase() : hostKey(peer);
}
