/**
 * The one reading of a peer address: `host:port`, `[ipv6]:port`, or a host/name alone (a
 * MemoryNetwork node name, or an address whose port is not known). Each layer adds its own rules
 * on top (the dial policy, request syntax, listen addresses); none splits the text itself.
 * Parsing is one anchored regex without nested quantifiers over input bounded by `maxLength`, so
 * its cost is linear in the input.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** 4 and 6 for IP addresses (IPv6 only in brackets), 'name' for anything else. */
export type PeerAddressFamily = 4 | 6 | 'name';

/** A peer address parsed once: host, optional port, and what kind of host it is. */
export interface PeerAddress {
  /** The host as written (an IPv6 address without its brackets). */
  readonly host: string;
  /** Absent when the text names no port. */
  readonly port?: number;
  readonly family: PeerAddressFamily;
}

/** Longest text `parsePeerAddress` reads by default. */
export const MAX_PEER_ADDRESS_TEXT = 1024;

const SHAPE = /^(?:\[([^[\]]*)\]|([^:[\]]+))(?::([0-9]{1,5}))?$/;

/**
 * Splits a peer address into host, port and family; undefined when it has no such shape, names a
 * port above 65535, or has brackets around something that is not an IPv6 address.
 */
export function parsePeerAddress(text: string, maxLength: number = MAX_PEER_ADDRESS_TEXT): PeerAddress | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > maxLength) return undefined;
  const match = SHAPE.exec(text);
  if (match === null) return undefined;
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && port > 65_535) return undefined;
  const bracketed = match[1];
  if (bracketed !== undefined) return isIPv6(bracketed) ? withPort({ host: bracketed, family: 6 }, port) : undefined;
  const host = match[2] as string;
  return withPort({ host, family: isIPv4(host) ? 4 : 'name' }, port);
}

/**
 * The peer address of a socket's remote end (`ip` as Node reports it, IPv6 without brackets).
 * Text that is no IP stays a name, so it is never mistaken for one. (A socket without an address
 * is an UnknownCaller, not a peer address.)
 */
export function peerAddressOf(ip: string, port: number | undefined): PeerAddress {
  const family: PeerAddressFamily = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 'name';
  return withPort({ host: ip, family }, port);
}

/**
 * The structured form of an identity given as text (a MemoryNetwork node name): its parse when
 * it reads as a peer address, else the whole text as a name.
 */
export function peerAddressNamed(text: string): PeerAddress {
  return parsePeerAddress(text) ?? { host: text, family: 'name' };
}

/** A caller its transport could not identify (e.g. a socket that closed before its request was read). */
export interface UnknownCaller {
  readonly family: 'unknown';
}

/**
 * Who sent a request, as its transport saw it: a peer address, or explicitly unknown. Every
 * unknown caller is one and the same caller: per-host limits treat them as one host, and none
 * can vouch for a sender address.
 */
export type Caller = PeerAddress | UnknownCaller;

/** The one unknown caller. */
export const UNKNOWN_CALLER: UnknownCaller = Object.freeze({ family: 'unknown' });

/** The text form of a caller: its address, or "[unknown]", which no peer address reads as. */
export function formatCaller(caller: Caller): string {
  return caller.family === 'unknown' ? '[unknown]' : formatPeerAddress(caller);
}

/** The text form: `host:port`, `[ipv6]:port`, or the host alone when there is no port. */
export function formatPeerAddress(peer: PeerAddress): string {
  const host = peer.family === 6 || peer.host.includes(':') ? `[${peer.host}]` : peer.host;
  return peer.port === undefined ? host : `${host}:${peer.port}`;
}

function withPort(peer: { host: string; family: PeerAddressFamily }, port: number | undefined): PeerAddress {
  return port === undefined ? peer : { ...peer, port };
}

/** True for an address of this machine's loopback: 127.0.0.0/8, ::1, and 127.x mapped into IPv6. */
export function isLoopbackIp(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}
