import { describe, expect, it } from 'vitest';
import { ErrorCodes, isAtlasError } from '../../src/errors.js';
import {
  AddressPolicy,
  LOCAL_ADDRESS_POLICY,
  canonicalPeerAddress,
  classifyIp,
  parseDialAddress,
  type AddressClass,
  type AddressRefusal,
} from '../../src/peers/address-policy.js';

describe('classifyIp', () => {
  const cases: [string, AddressClass | undefined][] = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.15.255.255', 'public'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', 'public'],
    ['192.168.1.1', 'private'],
    ['192.169.0.1', 'public'],
    ['100.63.255.255', 'public'],
    ['100.64.0.0', 'private'],
    ['100.127.255.255', 'private'],
    ['100.128.0.0', 'public'],
    ['169.254.1.1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.51.100.1', 'reserved'],
    ['203.0.113.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['fc00::1', 'private'],
    ['fdff:ffff::1', 'private'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['64:ff9b::808:808', 'reserved'],
    ['2002:808:808::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['example.com', undefined],
    ['1.2.3', undefined],
  ];
  it.each(cases)('%s is %s', (ip, expected) => {
    expect(classifyIp(ip)).toBe(expected);
  });
});

describe('parseDialAddress', () => {
  it('parses and canonicalises IPv4, IPv6 and host names', () => {
    expect(parseDialAddress('8.8.8.8:6264')).toEqual({ address: '8.8.8.8:6264', host: '8.8.8.8', port: 6264, kind: 'ipv4' });
    expect(parseDialAddress('[2001:DB8:0:0::1]:080')).toEqual({ address: '[2001:db8::1]:80', host: '2001:db8::1', port: 80, kind: 'ipv6' });
    expect(parseDialAddress('Seed.Example.ORG:6264')).toEqual({ address: 'seed.example.org:6264', host: 'seed.example.org', port: 6264, kind: 'hostname' });
    expect(parseDialAddress('node-3')).toEqual({ address: 'node-3', host: 'node-3', port: undefined, kind: 'bare' });
    expect(canonicalPeerAddress('[::0001]:9')).toBe('[::1]:9');
  });

  it('refuses what is not a peer address', () => {
    for (const input of [
      '',
      '8.8.8.8', // an IP needs a port
      '8.8.8.8:65536',
      '::1:80', // IPv6 needs brackets
      '[fe80::1%eth0]:80', // zone ids
      '[not-ip]:80',
      '127.1:80', // resolvers read these as IPs
      '0x7f000001:80',
      'a..b:80',
      '-a.com:80',
      'a b:80',
      'http://x:80',
      `${'a'.repeat(64)}.com:80`,
      'x'.repeat(301),
    ]) {
      expect(parseDialAddress(input), input).toBeUndefined();
    }
  });
});

describe('AddressPolicy', () => {
  const strict = new AddressPolicy();
  const local = new AddressPolicy(LOCAL_ADDRESS_POLICY);
  const cases: [string, AddressRefusal | 'ok', AddressRefusal | 'ok'][] = [
    // address, default policy, local-test policy
    ['8.8.8.8:6264', 'ok', 'ok'],
    ['[2606:4700::1111]:6264', 'ok', 'ok'],
    ['127.0.0.1:6264', 'loopback', 'ok'],
    ['[::1]:6264', 'loopback', 'ok'],
    ['localhost:6264', 'loopback', 'ok'],
    ['api.localhost:6264', 'loopback', 'ok'],
    ['10.1.2.3:6264', 'private', 'ok'],
    ['172.20.0.1:6264', 'private', 'ok'],
    ['192.168.0.10:6264', 'private', 'ok'],
    ['100.64.1.1:6264', 'private', 'ok'],
    ['[fd00::1]:6264', 'private', 'ok'],
    // link-local (cloud metadata lives there): never dialled, local mode or not
    ['169.254.0.5:6264', 'link-local', 'link-local'],
    ['169.254.169.254:80', 'link-local', 'link-local'],
    ['[fe80::1]:6264', 'link-local', 'link-local'],
    ['[febf::1]:6264', 'link-local', 'link-local'],
    // IPv4-mapped IPv6: judged as the IPv4 address it carries, in either spelling
    ['[::ffff:192.168.0.1]:6264', 'private', 'ok'],
    ['[::ffff:169.254.169.254]:80', 'link-local', 'link-local'],
    ['[::ffff:a9fe:a9fe]:80', 'link-local', 'link-local'],
    ['[::ffff:7f00:1]:6264', 'loopback', 'ok'],
    ['[::ffff:0:0]:6264', 'unspecified', 'unspecified'],
    ['[::ffff:808:808]:6264', 'ok', 'ok'],
    ['192.0.2.1:6264', 'reserved', 'ok'],
    ['224.0.0.251:6264', 'multicast', 'multicast'],
    ['[ff02::1]:6264', 'multicast', 'multicast'],
    ['0.0.0.0:6264', 'unspecified', 'unspecified'],
    ['[::]:6264', 'unspecified', 'unspecified'],
    ['255.255.255.255:6264', 'broadcast', 'broadcast'],
    ['8.8.8.8:0', 'port', 'port'],
    ['seed.example.org:6264', 'hostname', 'ok'],
    ['node-1', 'bare-name', 'ok'],
    ['8.8.8.8', 'syntax', 'syntax'],
    ['a b', 'syntax', 'syntax'],
  ];
  it.each(cases)('%s: default %s, local %s', (address, byDefault, locally) => {
    const verdict = (policy: AddressPolicy) => {
      const v = policy.check(address);
      return v.ok ? 'ok' : v.reason;
    };
    expect(verdict(strict)).toBe(byDefault);
    expect(verdict(local)).toBe(locally);
  });

  it('allows each group only through its own option', () => {
    expect(new AddressPolicy({ allowLoopback: true }).allows('127.0.0.1:1')).toBe(true);
    expect(new AddressPolicy({ allowLoopback: true }).allows('10.0.0.1:1')).toBe(false);
    expect(new AddressPolicy({ allowPrivate: true }).allows('10.0.0.1:1')).toBe(true);
    expect(new AddressPolicy({ allowPrivate: true }).allows('127.0.0.1:1')).toBe(false);
    expect(new AddressPolicy({ allowHostnames: true }).allows('seed.example.org:1')).toBe(true);
    expect(new AddressPolicy({ allowHostnames: true }).allows('localhost:1')).toBe(false);
    expect(new AddressPolicy({ allowBareNames: true }).allows('n1')).toBe(true);
    expect(new AddressPolicy({ allowReserved: true }).allows('192.0.2.1:1')).toBe(true);
  });

  it('assertAllowed throws ADDRESS_REFUSED with the reason', () => {
    expect(strict.assertAllowed('8.8.8.8:1').address).toBe('8.8.8.8:1');
    try {
      strict.assertAllowed('127.0.0.1:1');
      expect.unreachable();
    } catch (error) {
      expect(isAtlasError(error, ErrorCodes.ADDRESS_REFUSED)).toBe(true);
      expect((error as { details: unknown }).details).toEqual({ reason: 'loopback' });
    }
  });
});
