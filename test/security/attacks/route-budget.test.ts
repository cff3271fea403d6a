/**
 * Every request spends the caller's request budget, not only protocol calls: a host flooding plain
 * GET routes (chunks, status, the legacy zone file and attachment reads), paths with no route, or sending large bodies
 * that never decode (a malformed XML-RPC call) is refused with 503 once its tokens are spent,
 * before any work, while another host is still served.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACKER_HOST, HONEST_HOST, postRaw } from '../hostile/attackers.js';
import { startVictim, type Victim } from '../hostile/victim.js';

let victim: Victim;
/** A budget small enough to spend in a few requests: 5 tokens, 1 more a second. */
const BURST = 5;

beforeAll(async () => {
  victim = await startVictim({ chunkCount: 2, requests: { ratePerSecond: 1, burst: BURST } });
});
afterAll(async () => {
  await victim?.close();
});

function getRaw(path: string, localAddress: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: victim.port, localAddress, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      res.on('error', () => resolve({ status: 0, retryAfter: undefined }));
    });
    req.on('error', () => resolve({ status: 0, retryAfter: undefined }));
    req.end();
  });
}

describe('the request budget covers every route', () => {
  it('a host flooding GET routes is refused with 503 once its tokens are spent; another host is still served', async () => {
    const held = victim.chunks[0]!.address;
    const missing = 'ab'.repeat(20);
    const paths = [`/chunks/${held}`, '/status', `/v1/zonefiles/${missing}`, `/v2/attachments/${missing}`];
    const startedAt = performance.now();
    const statuses = new Map<string, number[]>();
    for (let i = 0; i < 40; i++) {
      const path = paths[i % paths.length]!;
      const { status, retryAfter } = await getRaw(path, ATTACKER_HOST);
      if (status === 503) expect(retryAfter).toMatch(/^\d+$/);
      statuses.set(path, [...(statuses.get(path) ?? []), status]);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const served = [...statuses.values()].flat().filter((status) => status !== 503).length;
    expect(served).toBeLessThanOrEqual(BURST + Math.ceil(seconds) + 1);
    for (const path of paths) expect(statuses.get(path), path).toContain(503);
    expect(statuses.get(`/chunks/${held}`)).toContain(200); // served while the budget lasted
    // The flooding host's debt is its own.
    expect((await getRaw(`/chunks/${held}`, HONEST_HOST)).status).toBe(200);
  });

  it('a host flooding paths with no route (404, 405, a bad target) is refused with 503 once its tokens are spent; another host is still answered', async () => {
    const flooder = '127.0.0.4';
    const paths = ['/no-such-route', '/RPC2', '//double-slash'];
    const startedAt = performance.now();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await getRaw(paths[i % paths.length]!, flooder)).status);
    const seconds = (performance.now() - startedAt) / 1000;
    const answered = statuses.filter((status) => status !== 503);
    expect(answered.length).toBeLessThanOrEqual(BURST + Math.ceil(seconds) + 1);
    expect(new Set(answered)).toEqual(new Set([404, 405, 400]));
    expect(statuses.slice(-10)).toContain(503);
    expect((await getRaw('/no-such-route', HONEST_HOST)).status).toBe(404);
  });

  it('a large body that never decodes spends its size before it is read: malformed 300 KB XML-RPC calls are refused after the first', async () => {
    const malformed = '<methodCall>' + '<a>'.repeat(100_000) + '</methodCall>';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await postRaw(victim.port, '/RPC2', malformed, { 'content-type': 'text/xml' }, '127.0.0.3')).status);
    // 1 token and 4 for the body's 300 KB (one per 64 KiB): the burst pays for one such call.
    expect(statuses[0]).toBe(200); // answered with an XML-RPC fault
    expect(statuses.slice(1).filter((status) => status === 503).length).toBeGreaterThanOrEqual(2);
  });

  it('a body sent without a declared length is charged the most its route reads: 512 KiB for XML-RPC, not the transport\'s 1 MiB', async () => {
    // 1 token and 8 for 512 KiB (one per 64 KiB): a burst of 9 pays for one such call, not two.
    // Charged the transport's 1 MiB (1 + 16 tokens), the first would be refused too.
    const local = await startVictim({ chunkCount: 1, requests: { ratePerSecond: 1, burst: 9 } });
    try {
      const call = '<?xml version="1.0"?><methodCall><methodName>getinfo</methodName><params></params></methodCall>';
      const postChunked = () =>
        new Promise<number>((resolve) => {
          const req = http.request({ host: '127.0.0.1', port: local.port, localAddress: ATTACKER_HOST, method: 'POST', path: '/RPC2', agent: false, headers: { 'content-type': 'text/xml', 'transfer-encoding': 'chunked' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', () => resolve(0));
          req.end(call);
        });
      expect(await postChunked()).toBe(200);
      expect(await postChunked()).toBe(503);
    } finally {
      await local.close();
    }
  });

  it('a legacy call takes one place among the host\'s requests in progress, not two: 16 XML-RPC calls at once, bodies late, are all answered', async () => {
    const local = await startVictim({ chunkCount: 1 }); // default budget: 16 requests in progress per host
    try {
      const call = '<?xml version="1.0"?><methodCall><methodName>getinfo</methodName><params></params></methodCall>';
      const answers = await Promise.all(
        Array.from({ length: 16 }, () =>
          new Promise<{ status: number; text: string }>((resolve) => {
            const req = http.request({ host: '127.0.0.1', port: local.port, method: 'POST', path: '/RPC2', agent: false, headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(call) } }, (res) => {
              const parts: Buffer[] = [];
              res.on('data', (part: Buffer) => parts.push(part));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
            });
            req.on('error', () => resolve({ status: 0, text: '' }));
            req.flushHeaders();
            setTimeout(() => req.end(call), 200); // every head is in before any body
          }),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual(new Array(16).fill(200));
      for (const answer of answers) expect(answer.text).not.toMatch(/in progress|rate limit/);
    } finally {
      await local.close();
    }
  });
});
