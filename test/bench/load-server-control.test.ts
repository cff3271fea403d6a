/**
 * The load benchmark's server asked for its figures while it closes (bench/load-server-control.ts):
 * "stats" is answered with the count read before the close (a closing node refuses stats()),
 * "verify" with an error, and the close runs once, whatever that read does.
 */
import { describe, expect, it } from 'vitest';
import { loadServerControl, type ClosableServer } from '../../bench/load-server-control.js';

/** A server that refuses to count once its close has begun, as a closing node does; its close ends when the test says. */
function closingServer(held: number, options: { countFails?: boolean } = {}) {
  let closes = 0;
  let finish!: () => void;
  const closed = new Promise<void>((resolve) => (finish = resolve));
  const server: ClosableServer = {
    chunks() {
      if (closes > 0 || options.countFails === true) throw new Error('cannot read stats: node is closing');
      return held;
    },
    close() {
      closes++;
      return closed;
    },
  };
  return { server, finish, closes: () => closes };
}

describe('the load server while it closes', () => {
  it('answers stats from before the close and verify with an error, and closes once', async () => {
    const { server, finish, closes } = closingServer(50);
    const control = loadServerControl<{ verifiedUs: number }>(server);
    expect(control.chunks()).toEqual({ chunks: 50 });
    expect(control.verify(() => ({ verifiedUs: 3 }))).toEqual({ verifiedUs: 3 });
    const first = control.close();
    expect(control.close()).toBe(first);
    expect(control.chunks()).toEqual({ chunks: 50 });
    let measured = false;
    expect(control.verify(() => ((measured = true), { verifiedUs: 3 }))).toEqual({ error: 'the node is closing' });
    expect(measured).toBe(false);
    finish();
    await first;
    expect(control.chunks()).toEqual({ chunks: 50 });
    expect(closes()).toBe(1);
  });

  it('still closes when the count cannot be read, and then answers stats with an error', async () => {
    const { server, finish, closes } = closingServer(50, { countFails: true });
    const control = loadServerControl(server);
    const closing = control.close();
    expect(closes()).toBe(1);
    expect(control.chunks()).toEqual({ error: 'the node is closing' });
    finish();
    await closing;
  });
});
