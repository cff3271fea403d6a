/** Refuted claims: per peer, until a deadline that each new refutation extends; at most MAX_REFUTED_PEERS peers. */
import { describe, expect, it } from 'vitest';
import { MAX_REFUTED_PEERS, RefutedClaims } from '../../src/sync/refuted-claims.js';

describe('RefutedClaims', () => {
  it('answers a peer\'s refuted positions until their time is up, a new refutation extending the earlier ones', () => {
    const claims = new RefutedClaims();
    claims.refute('p', [3], 0, 100);
    claims.refute('p', [9], 50, 200);
    expect([...claims.of('p', 150)!.toUint32Array()]).toEqual([3, 9]);
    expect(claims.of('p', 200)).toBeUndefined();
    expect(claims.size).toBe(0);
    claims.refute('p', [4], 300, 400); // a new refutation after expiry starts afresh
    expect([...claims.of('p', 350)!.toUint32Array()]).toEqual([4]);
    expect(claims.of('q', 350)).toBeUndefined();
  });

  it('remembers at most MAX_REFUTED_PEERS peers, forgetting the one refuted least recently', () => {
    const claims = new RefutedClaims();
    for (let i = 0; i <= MAX_REFUTED_PEERS; i++) claims.refute(`p${i}`, [i], 0, 1_000);
    expect(claims.size).toBe(MAX_REFUTED_PEERS);
    expect(claims.of('p0', 1)).toBeUndefined();
    expect([...claims.of(`p${MAX_REFUTED_PEERS}`, 1)!.toUint32Array()]).toEqual([MAX_REFUTED_PEERS]);
  });

  it('drops positions a rollback takes away, and a peer left with none', () => {
    const claims = new RefutedClaims();
    claims.refute('p', [2, 10], 0, 1_000);
    claims.refute('q', [12], 0, 1_000);
    claims.truncate(10);
    expect([...claims.of('p', 1)!.toUint32Array()]).toEqual([2]);
    expect(claims.of('q', 1)).toBeUndefined();
    expect(claims.size).toBe(1);
  });
});
