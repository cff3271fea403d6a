/**
 * The /v1/names routes answer every refusal in their own shape, `{error, code}`, as clients of
 * stacks-blockchain-api read it (the transport's envelope, `{error: {code, message}}`, broke a
 * client reading `error` as text), with the status of its code and no private detail: a chain
 * adapter's error may name a path or carry a token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NameService } from '../../src/bns/routes.js';
import { namesRoutes } from '../../src/bns/routes.js';
import { AtlasError, ErrorCodes, type ErrorCode } from '../../src/errors.js';
import { HttpTransport } from '../../src/transport/http.js';

let failure: AtlasError | Error = new Error('unset');
let failIn: 'resolve' | 'history' = 'resolve';
const service: NameService = {
  async resolve(name) {
    if (failIn === 'resolve') throw failure;
    return { name, status: 'ok', zonefileHash: 'ab'.repeat(20), zonefile: new Uint8Array(Buffer.from('$ORIGIN x.id\n')) };
  },
  async history() {
    throw failure;
  },
  zonefile: () => undefined,
};

const transport = new HttpTransport({ listen: '127.0.0.1:0', routes: namesRoutes(() => service) });
let base = '';
beforeAll(async () => {
  base = `http://${await transport.listen({ handle: async () => null })}`;
});
afterAll(() => transport.close());

async function refusal(path: string, error: AtlasError | Error, where: 'resolve' | 'history' = 'resolve') {
  failure = error;
  failIn = where;
  const res = await fetch(`${base}${path}`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
}

const fail = (code: ErrorCode, message: string, details?: Record<string, unknown>) => new AtlasError(code, message, details);

describe('/v1/names refusals', () => {
  it('are {error, code} with the status of their code, whatever the resolver throws', async () => {
    const cases: [AtlasError, number][] = [
      [fail(ErrorCodes.BAD_REQUEST, 'not a BNS name: "x"'), 400],
      [fail(ErrorCodes.TIMEOUT, 'name lookup timed out'), 504],
      [fail(ErrorCodes.CLOSED, 'name resolution is closed'), 503],
      [fail(ErrorCodes.TOO_LARGE, 'the subdomains of big.id pass names.maxParentBytes'), 507],
    ];
    for (const [error, status] of cases) {
      for (const path of ['/v1/names/bob.x.id', '/v1/names/bob.x.id/zonefile']) {
        expect(await refusal(path, error), `${error.code} ${path}`).toMatchObject({ status, body: { error: error.message, code: error.code } });
      }
    }
  });

  it('say when to come back when busy: Retry-After, and retry_after_ms', async () => {
    const busy = await refusal('/v1/names/bob.x.id', fail(ErrorCodes.BUSY, '64 subdomain replays are waiting', { retryAfterMs: 2_500 }));
    expect(busy).toEqual({ status: 503, retryAfter: '3', body: { error: '64 subdomain replays are waiting', code: 'BUSY', retry_after_ms: 2_500 } });
  });

  it('keep a chain adapter\'s or a store\'s own words to themselves, and so does the transport\'s envelope', async () => {
    const leaky = 'chain adapter: length() failed: ENOENT: open \'/home/operator/atlas-data/chain.jsonl\' (token=abc123)';
    for (const code of [ErrorCodes.CHAIN_FAILED, ErrorCodes.STORE_IO, ErrorCodes.STORE_PERMISSION, ErrorCodes.INTERNAL]) {
      const answer = await refusal('/v1/names/alice.id', fail(code, leaky));
      expect(answer).toMatchObject({ status: 500, body: { error: 'internal error', code } });
      expect(JSON.stringify(answer.body)).not.toMatch(/operator|token/);
    }
  });

  it('answer the hash route\'s own failures (its history) the same way', async () => {
    const answer = await refusal(`/v1/names/alice.id/zonefile/${'cd'.repeat(20)}`, fail(ErrorCodes.TIMEOUT, 'name lookup timed out'), 'history');
    expect(answer).toMatchObject({ status: 504, body: { error: 'name lookup timed out', code: 'TIMEOUT' } });
  });

  it('leave an error that is no AtlasError (a bug) to the transport, which logs it and hides it', async () => {
    const answer = await refusal('/v1/names/alice.id', new Error('/secret/path went wrong'));
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain('secret');
  });
});
