/**
 * Which peer addresses may be dialled (SPEC §5.2). A remote peer list can name any address, so an
 * address learnt from the network is refused when it is not publicly routable: loopback, private
 * and CGNAT ranges, unique-local and link-local, multicast, unspecified, broadcast, documentation
 * and other reserved ranges, or port 0. The host can allow the first groups (local tests do).
 *
 * Hostnames are refused by default: without a DNS lookup (none here) a name can point anywhere,
 * including at private addresses, so accepting names from strangers would undo the IP checks. A
 * host that trusts its peers' names sets `allowHostnames`. "localhost" is always read as loopback.
 * Bare names without a port (MemoryNetwork node names) are refused unless `allowBareNames`.
 *
 * IPv6 tunnelling prefixes that embed an IPv4 destination (NAT64, 6to4, Teredo) are refused as
 * reserved: their real destination cannot be judged from the address alone. IPv4-mapped IPv6
 * addresses (::ffff:0:0/96) are judged by the IPv4 address they carry.
 *
 * Link-local addresses (169.254/16, fe80::/10) are never dialled, whatever the options: cloud
 * metadata services live there (169.254.169.254), and no peer is reached through them.
 */
import { BlockList, SocketAddress, isIPv4, isIPv6 } from 'node:net';
import { AtlasError, ErrorCodes } from '../errors.js';
import { parsePeerAddress } from '../peer-address.js';
import { DEFAULT_LIMITS } from '../protocol/limits.js';
import { numberRule, overlayChecked, type OverlayRules } from '../options-overlay.js';

/** How a peer address names its host: an IPv4 or IPv6 literal, a DNS hostname, or a bare name (MemoryNetwork). */
export type HostKind = 'ipv4' | 'ipv6' | 'hostname' | 'bare';

/** A peer address in the form this node dials it. */
export interface DialAddress {
  /** Canonical form: lower-case host, compressed IPv6 in brackets, port without leading zeros. */
  address: string;
  host: string;
  /** Undefined for a bare name. */
  port: number | undefined;
  kind: HostKind;
}

/** The range an IP address falls in; only `public` addresses are dialled by default (AddressPolicyOptions allows the others). */
export type AddressClass = 'public' | 'unspecified' | 'loopback' | 'private' | 'link-local' | 'multicast' | 'broadcast' | 'reserved';

/** Why an address may not be dialled: bad syntax, no port, a hostname or bare name not allowed, or its address class. */
export type AddressRefusal = 'syntax' | 'port' | 'hostname' | 'bare-name' | Exclude<AddressClass, 'public'>;

/** What AddressPolicy.check says of an address: the peer to dial, or why not. */
export type AddressVerdict = { ok: true; peer: DialAddress } | { ok: false; reason: AddressRefusal; message: string };

/** Which address ranges an `AddressPolicy` allows. */
export interface AddressPolicyOptions {
  /** 127/8, ::1 and "localhost". Default false. */
  allowLoopback: boolean;
  /** 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7. Default false. Link-local is never allowed. */
  allowPrivate: boolean;
  /** Documentation, benchmarking and future-use ranges (192.0.2/24, 198.18/15, 240/4, 2001:db8::/32, ...). Default false. */
  allowReserved: boolean;
  /** DNS names with a port. Default false (see above). */
  allowHostnames: boolean;
  /** Names without a port, as MemoryNetwork uses. Default false. */
  allowBareNames: boolean;
  /** Longest address accepted. */
  maxLength: number;
}

/** The policy for public networks: only publicly routable addresses. */
export const DEFAULT_ADDRESS_POLICY: Readonly<AddressPolicyOptions> = Object.freeze({
  allowLoopback: false,
  allowPrivate: false,
  allowReserved: false,
  allowHostnames: false,
  allowBareNames: false,
  maxLength: DEFAULT_LIMITS.maxPeerAddressLength,
});

/** What each address policy setting must be (the node checks its `addressPolicy` option by them too): switches, and a positive length. */
export const ADDRESS_POLICY_RULES: OverlayRules = { numbers: numberRule({ positiveIntegers: ['maxLength'] }) };

/** Everything a local test network may use: loopback, private ranges, names. */
export const LOCAL_ADDRESS_POLICY: Readonly<AddressPolicyOptions> = Object.freeze({
  allowLoopback: true,
  allowPrivate: true,
  allowReserved: true,
  allowHostnames: true,
  allowBareNames: true,
  maxLength: DEFAULT_LIMITS.maxPeerAddressLength,
});

// ---------------------------------------------------------------------------------------------
// Parsing

const BARE_NAME = /^[A-Za-z0-9][A-Za-z0-9._~-]*$/;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function isHostname(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  // A numeric last label would let the resolver read "127.1" or "0x7f000001" as an IP address.
  const last = labels[labels.length - 1] as string;
  return /^[a-z]/.test(last);
}

function canonicalIPv6(host: string): string {
  return new SocketAddress({ address: host, family: 'ipv6' }).address;
}

/**
 * Parses `host:port` (IPv4, [IPv6], hostname) or a bare name into its canonical dial form;
 * undefined when it is neither. Port 0 parses (the policy refuses it with reason "port"); IPv6
 * zone ids do not parse.
 */
export function parseDialAddress(input: string, maxLength: number = DEFAULT_ADDRESS_POLICY.maxLength): DialAddress | undefined {
  const peer = parsePeerAddress(input, maxLength);
  if (peer === undefined) return undefined;
  const { port } = peer;
  if (port === undefined) {
    if (peer.family !== 'name' || !BARE_NAME.test(input)) return undefined;
    return { address: input, host: input, port: undefined, kind: 'bare' };
  }
  if (peer.family === 6) {
    if (peer.host.includes('%')) return undefined;
    const host = canonicalIPv6(peer.host);
    // An IPv4-mapped address is the IPv4 host it carries (a dual-stack socket reaches that host):
    // one peer, one canonical form, for the blocklist, the peer table and the seeds alike.
    const carried = mappedIPv4(host);
    if (carried !== undefined) return { address: `${carried}:${port}`, host: carried, port, kind: 'ipv4' };
    return { address: `[${host}]:${port}`, host, port, kind: 'ipv6' };
  }
  if (peer.family === 4) return { address: `${peer.host}:${port}`, host: peer.host, port, kind: 'ipv4' };
  const host = peer.host.toLowerCase();
  if (!isHostname(host)) return undefined;
  return { address: `${host}:${port}`, host, port, kind: 'hostname' };
}

/** The canonical form of a peer address, or undefined when it does not parse. */
export function canonicalPeerAddress(input: string, maxLength?: number): string | undefined {
  return parseDialAddress(input, maxLength)?.address;
}

// ---------------------------------------------------------------------------------------------
// Classification

function ranges(v4: readonly string[], v6: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of v4) {
    const [network, bits] = cidr.split('/') as [string, string];
    list.addSubnet(network, Number(bits), 'ipv4');
  }
  for (const cidr of v6) {
    const [network, bits] = cidr.split('/') as [string, string];
    list.addSubnet(network, Number(bits), 'ipv6');
  }
  return list;
}

// Checked in this order: the first class whose ranges contain the address wins.
const CLASSES: readonly (readonly [Exclude<AddressClass, 'public'>, BlockList])[] = [
  ['unspecified', ranges(['0.0.0.0/8'], ['::/128'])],
  ['loopback', ranges(['127.0.0.0/8'], ['::1/128'])],
  ['broadcast', ranges(['255.255.255.255/32'], [])],
  ['private', ranges(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'], ['fc00::/7', 'fec0::/10'])],
  ['link-local', ranges(['169.254.0.0/16'], ['fe80::/10'])],
  ['multicast', ranges(['224.0.0.0/4'], ['ff00::/8'])],
  [
    'reserved',
    ranges(
      ['192.0.0.0/24', '192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4'],
      // IPv4-compatible (deprecated), discard-only, NAT64, Teredo, documentation, 6to4
      ['::/96', '100::/64', '64:ff9b::/96', '64:ff9b:1::/48', '2001::/32', '2001:db8::/32', '2002::/16'],
    ),
  ],
];

/** Classifies an IP literal (IPv4, or IPv6 without brackets); undefined when it is not one. */
export function classifyIp(ip: string): AddressClass | undefined {
  const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (family === undefined) return undefined;
  if (family === 'ipv6') {
    const embedded = mappedIPv4(ip);
    if (embedded !== undefined) return classifyIp(embedded);
  }
  for (const [name, list] of CLASSES) if (list.check(ip, family)) return name;
  return 'public';
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:0:0/96) carries; undefined for any other. */
export function mappedIPv4(ip: string): string | undefined {
  if (!IPV4_MAPPED.check(ip, 'ipv6')) return undefined;
  const words = new SocketAddress({ address: ip, family: 'ipv6' }).address.split(':');
  if (words.length === 0) return undefined;
  const last = words[words.length - 1] as string;
  if (isIPv4(last)) return last;
  const high = parseInt(words[words.length - 2] ?? '0', 16);
  const low = parseInt(last, 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

const IPV4_MAPPED = ranges([], ['::ffff:0:0/96']);

function classifyHost(peer: DialAddress): AddressClass | 'hostname' | 'bare-name' {
  switch (peer.kind) {
    case 'ipv4':
    case 'ipv6':
      return classifyIp(peer.host) ?? 'reserved';
    case 'bare':
      return peer.host.toLowerCase() === 'localhost' ? 'loopback' : 'bare-name';
    case 'hostname':
      return peer.host === 'localhost' || peer.host.endsWith('.localhost') ? 'loopback' : 'hostname';
  }
}

// ---------------------------------------------------------------------------------------------
// Policy

/** Decides which peer addresses may be dialled (public, private, loopback ranges). */
export class AddressPolicy {
  readonly options: Readonly<AddressPolicyOptions>;

  /** INVALID_OPTION (`addressPolicy.<name>`) for a setting ADDRESS_POLICY_RULES refuses. */
  constructor(options: Partial<AddressPolicyOptions> = {}) {
    this.options = overlayChecked('addressPolicy', DEFAULT_ADDRESS_POLICY, options, ADDRESS_POLICY_RULES);
  }

  /** Parses and judges an address; never throws. */
  check(input: string): AddressVerdict {
    const peer = parseDialAddress(input, this.options.maxLength);
    if (peer === undefined) return refuse('syntax', 'not a peer address (host:port or a name)');
    return this.judge(peer);
  }

  /** Judges an address already parsed (by parseDialAddress), for callers that need its canonical form too. */
  judge(peer: DialAddress): AddressVerdict {
    if (peer.port === 0) return refuse('port', 'port 0 cannot be dialled');
    const kind = classifyHost(peer);
    const { allowLoopback, allowPrivate, allowReserved, allowHostnames, allowBareNames } = this.options;
    switch (kind) {
      case 'public':
        break;
      case 'loopback':
        if (!allowLoopback) return refuse(kind, 'loopback address');
        break;
      case 'private':
        if (!allowPrivate) return refuse(kind, 'private address');
        break;
      case 'reserved':
        if (!allowReserved) return refuse(kind, 'reserved address range');
        break;
      case 'hostname':
        if (!allowHostnames) return refuse(kind, 'host names are not accepted (only IP addresses)');
        break;
      case 'bare-name':
        if (!allowBareNames) return refuse(kind, 'a peer address needs a port');
        break;
      case 'unspecified':
      case 'link-local':
      case 'multicast':
      case 'broadcast':
        return refuse(kind, `${kind} address cannot be dialled`);
    }
    // A loopback bare name ("localhost") still needs bare names allowed to be dialled as such.
    if (peer.kind === 'bare' && !allowBareNames) return refuse('bare-name', 'a peer address needs a port');
    return { ok: true, peer };
  }

  allows(input: string): boolean {
    return this.check(input).ok;
  }

  /** The parsed address, or throws ADDRESS_REFUSED naming the reason. */
  assertAllowed(input: string): DialAddress {
    const verdict = this.check(input);
    if (!verdict.ok) {
      throw new AtlasError(ErrorCodes.ADDRESS_REFUSED, `peer address refused: ${verdict.message}`, { reason: verdict.reason });
    }
    return verdict.peer;
  }
}

function refuse(reason: AddressRefusal, message: string): AddressVerdict {
  return { ok: false, reason, message };
}
