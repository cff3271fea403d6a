import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { checkSender, senderMatches } from '../../src/protocol/sender-check.js';
import { contextFrom } from '../support/caller.js';

describe('senderMatches: a request may only name its own caller as sender', () => {
  it('compares against a structured caller like against its remote text', () => {
    expect(senderMatches('203.0.113.5:6264', { host: '203.0.113.5', port: 4000, family: 4 })).toBe(true);
    expect(senderMatches('203.0.113.6:6264', { host: '203.0.113.5', port: 4000, family: 4 })).toBe(false);
    expect(senderMatches('[2001:db8::1]:6264', { host: '2001:db8::9', port: 4000, family: 6 })).toBe(true); // same /64
    expect(senderMatches('node-a', { host: 'node-a', family: 'name' })).toBe(true);
    expect(senderMatches('node-b', { host: 'node-a', family: 'name' })).toBe(false);
  });

  it('compares hosts, not ports, for IP addresses', () => {
    expect(senderMatches('127.0.0.1:6264', '127.0.0.1:51234')).toBe(true);
    expect(senderMatches('203.0.113.5:6264', '203.0.113.5:4000')).toBe(true);
    expect(senderMatches('203.0.113.6:6264', '203.0.113.5:4000')).toBe(false);
    expect(senderMatches('127.0.0.1:6264', '[::ffff:127.0.0.1]:9')).toBe(true);
    expect(senderMatches('[2001:db8:1:2::1]:6264', '[2001:db8:1:2:ffff::9]:7')).toBe(true);
    expect(senderMatches('[2001:db8:1:3::1]:6264', '[2001:db8:1:2::9]:7')).toBe(false);
  });

  it('compares bare names whole, and lets host names through (no DNS here)', () => {
    expect(senderMatches('node-1', 'node-1')).toBe(true);
    expect(senderMatches('node-1', 'node-2')).toBe(false);
    expect(senderMatches('peer.example:6264', '198.51.100.1:1')).toBe(true);
  });
});

describe('checkSender', () => {
  const handler = checkSender(async (method) => method);
  it('refuses offer and inventoryChanges naming another sender, with BAD_REQUEST', async () => {
    for (const method of ['offer', 'inventoryChanges']) {
      await expect(handler(method, { from: 'victim-neighbour' }, contextFrom('attacker'))).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
      await expect(handler(method, { from: 'attacker' }, contextFrom('attacker'))).resolves.toBe(method);
    }
  });

  it('leaves other methods, missing and malformed senders to validation', async () => {
    await expect(handler('ping', { from: 'someone-else' }, contextFrom('attacker'))).resolves.toBe('ping');
    await expect(handler('offer', {}, contextFrom('attacker'))).resolves.toBe('offer');
    await expect(handler('offer', { from: 42 }, contextFrom('attacker'))).resolves.toBe('offer');
    await expect(handler('offer', null, contextFrom('attacker'))).resolves.toBe('offer');
    const inherited = Object.create({ from: 'victim-neighbour' }) as object;
    await expect(handler('offer', inherited, contextFrom('attacker'))).resolves.toBe('offer');
  });
});
