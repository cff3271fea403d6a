import { describe, expect, it } from 'vitest';
import { formatPeerAddress, parsePeerAddress, peerAddressOf } from '../src/peer-address.js';

describe('parsePeerAddress', () => {
  it('reads IPv4, bracketed IPv6 and names, with or without a port', () => {
    expect(parsePeerAddress('127.0.0.1:6264')).toEqual({ host: '127.0.0.1', port: 6264, family: 4 });
    expect(parsePeerAddress('[::1]:80')).toEqual({ host: '::1', port: 80, family: 6 });
    expect(parsePeerAddress('[::1]')).toEqual({ host: '::1', family: 6 });
    expect(parsePeerAddress('seed.example.org:1')).toEqual({ host: 'seed.example.org', port: 1, family: 'name' });
    expect(parsePeerAddress('node-3')).toEqual({ host: 'node-3', family: 'name' });
    expect(parsePeerAddress('10.0.0.1')).toEqual({ host: '10.0.0.1', family: 4 });
  });

  it('refuses what is not a peer address', () => {
    for (const text of ['', '::1', '[::1', '[not-v6]:1', 'a:b', 'a:99999', 'a:123456', 'a:1:2', '[::1]x', 'x'.repeat(1025)]) {
      expect(parsePeerAddress(text), text).toBeUndefined();
    }
    expect(parsePeerAddress('abcdef:1', 7)).toBeUndefined();
  });

  it('formats back to the text it read', () => {
    for (const text of ['127.0.0.1:6264', '[2001:db8::1]:80', 'node-3', 'host.example:9', '[::1]']) {
      expect(formatPeerAddress(parsePeerAddress(text)!)).toBe(text);
    }
  });

  it('reads a socket remote end, brackets IPv6 and keeps an unknown address a name', () => {
    expect(formatPeerAddress(peerAddressOf('::ffff:127.0.0.1', 5))).toBe('[::ffff:127.0.0.1]:5');
    expect(peerAddressOf('127.0.0.2', 7)).toEqual({ host: '127.0.0.2', port: 7, family: 4 });
    expect(peerAddressOf('node-a', undefined)).toEqual({ host: 'node-a', family: 'name' });
  });
});
