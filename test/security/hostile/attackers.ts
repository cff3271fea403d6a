/**
 * The attacks of the "serving under attack" table, as bounded loops over raw sockets or plain
 * node:http from 127.0.0.1, and an honest client on 127.0.0.2 that measures what it gets meanwhile.
 * Every attack runs until stop(), which closes everything it opened.
 */
import http from 'node:http';
import net from 'node:net';
import { encodeBinary } from '../../../src/transport/codec.js';

export const ATTACKER_HOST = '127.0.0.1';
export const HONEST_HOST = '127.0.0.2';

export interface Attack {
  /** Bytes the attacker received from the victim. */
  readonly bytesIn: () => number;
  /** Replies by status (0: connection closed without a reply). */
  readonly statuses: Map<number, number>;
  stop(): Promise<void>;
}

function count(statuses: Map<number, number>, status: number): void {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
}

/** Raw sockets; `onOpen` writes what the attack sends. Closed by stop(). */
function socketAttack(port: number, connections: number, onOpen: (socket: net.Socket, index: number) => void, read = true): Attack {
  const sockets = new Set<net.Socket>();
  let received = 0;
  const statuses = new Map<number, number>();
  for (let i = 0; i < connections; i++) {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: ATTACKER_HOST });
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (read) socket.on('data', (part: Buffer) => (received += part.byteLength));
    socket.on('connect', () => onOpen(socket, i));
  }
  return {
    bytesIn: () => received,
    statuses,
    async stop() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

/** POST heads announcing `declared` body bytes, one body byte each, then nothing. */
export function slowBodies(port: number, connections: number, path = '/atlas/v1/getChunks', declared = 1_000): Attack {
  return socketAttack(port, connections, (socket) => {
    socket.write(`POST ${path} HTTP/1.1\r\nhost: victim\r\ncontent-type: application/msgpack\r\ncontent-length: ${declared}\r\n\r\n`);
    socket.write(Buffer.from([0x81]));
  });
}

/** Request heads sent one byte every `everyMs`, never finished (bounded: the head is 4 KiB at most). */
export function trickleHeaders(port: number, connections: number, everyMs = 200): Attack {
  const head = Buffer.from(`GET /status HTTP/1.1\r\nhost: victim\r\nx-pad: ${'a'.repeat(4_000)}`);
  const timers: NodeJS.Timeout[] = [];
  const attack = socketAttack(port, connections, (socket) => {
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || sent >= head.length) return clearInterval(timer);
      socket.write(head.subarray(sent, sent + 1));
      sent++;
    }, everyMs);
    timers.push(timer);
    socket.on('close', () => clearInterval(timer));
  });
  return { ...attack, stop: async () => { for (const timer of timers) clearInterval(timer); await attack.stop(); } };
}

/** Keep-alive sockets that send one request, read its reply, then stay idle. */
export function idleKeepAlive(port: number, connections: number): Attack {
  return socketAttack(port, connections, (socket) => {
    socket.write('GET /status HTTP/1.1\r\nhost: victim\r\n\r\n');
  });
}

function getChunksRequest(addresses: readonly string[]): Buffer {
  const body = encodeBinary({ addresses });
  const head = `POST /atlas/v1/getChunks HTTP/1.1\r\nhost: victim\r\ncontent-type: application/msgpack\r\ncontent-length: ${body.byteLength}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), Buffer.from(body)]);
}

/** Connections that pipeline `perConnection` getChunks of `addresses` and never read a byte. */
export function pipelineNoRead(port: number, connections: number, perConnection: number, addresses: readonly string[]): Attack {
  const request = getChunksRequest(addresses);
  return socketAttack(
    port,
    connections,
    (socket) => {
      socket.pause();
      for (let i = 0; i < perConnection; i++) socket.write(request);
    },
    false,
  );
}

/** One socket pipelining `count` getChunks of `addresses` and reading every reply as it comes. */
export function pipelineReader(port: number, count: number, addresses: readonly string[]): Attack {
  const request = getChunksRequest(addresses);
  return socketAttack(port, 1, (socket) => {
    for (let i = 0; i < count; i++) socket.write(request);
  });
}

/**
 * `connections` sockets each pipelining `perConnection` getChunks of `addresses`, then reading
 * their replies at about `bytesPerSecond` each (a little every 20 ms): slow enough to keep bytes
 * waiting at the victim, never so slow that it stalls.
 */
export function slowReaders(port: number, connections: number, perConnection: number, addresses: readonly string[], bytesPerSecond: number): Attack {
  const request = getChunksRequest(addresses);
  const timers: NodeJS.Timeout[] = [];
  let taken = 0;
  const attack = socketAttack(
    port,
    connections,
    (socket) => {
      socket.pause();
      for (let i = 0; i < perConnection; i++) socket.write(request);
      const timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        // What came since the last tick, up to the rate (what is buffered is all a tick can take).
        let budget = Math.max(1, Math.round(bytesPerSecond / 50));
        while (budget > 0 && socket.readableLength > 0) {
          const part = socket.read(Math.min(budget, socket.readableLength)) as Buffer | null;
          if (part === null) break;
          taken += part.byteLength;
          budget -= part.byteLength;
        }
        if (socket.readableLength === 0) socket.read(0); // asks the socket for more
      }, 20);
      timers.push(timer);
    },
    false,
  );
  return {
    bytesIn: () => taken,
    statuses: attack.statuses,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await attack.stop();
    },
  };
}

/** `parallel` loops of getChunks(`addresses`) that read every reply, as fast as the victim answers. */
export function bandwidthHog(port: number, parallel: number, addresses: readonly string[]): Attack {
  return postLoop(port, parallel, '/atlas/v1/getChunks', encodeBinary({ addresses }), { 'content-type': 'application/msgpack' });
}

/** `parallel` loops POSTing `body` to `path` and reading every reply, as fast as the victim answers. */
export function postLoop(port: number, parallel: number, path: string, body: string | Uint8Array, headers: Record<string, string>): Attack {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const statuses = new Map<number, number>();
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  let received = 0;
  let running = true;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, localAddress: ATTACKER_HOST, agent, method: 'POST', path, headers: { ...headers, 'content-length': length } }, (res) => {
        res.on('data', (part: Buffer) => (received += part.byteLength));
        res.on('end', () => {
          count(statuses, res.statusCode ?? 0);
          resolve();
        });
        res.on('error', () => resolve());
      });
      req.on('error', () => {
        count(statuses, 0);
        setTimeout(resolve, 20);
      });
      req.end(body);
    });
  const loops = Array.from({ length: parallel }, async () => {
    while (running) await once();
  });
  return {
    bytesIn: () => received,
    statuses,
    async stop() {
      running = false;
      agent.destroy();
      await Promise.all(loops);
    },
  };
}

/** One POST with a raw body; resolves with the status and reply text (or status 0 on a close). */
export function postRaw(port: number, path: string, body: string | Uint8Array, headers: Record<string, string>, localAddress = ATTACKER_HOST): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, localAddress, method: 'POST', path, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8'), headers: res.headers }));
      res.on('error', () => resolve({ status: 0, text: '', headers: {} }));
    });
    req.on('error', () => resolve({ status: 0, text: '', headers: {} }));
    req.end(body);
  });
}

export interface ProbeResult {
  ok: number;
  failed: number;
  latenciesMs: number[];
  failures: string[];
}

export interface HonestClient {
  /** Results since the last take(), then resets them. */
  take(): ProbeResult;
  stop(): Promise<ProbeResult>;
}

/**
 * An honest client on 127.0.0.2: getChunks of `addresses` every `everyMs` (one at a time, keep-alive),
 * each with `timeoutMs`; a reply other than 200 with every chunk, or no reply in time, is a failure.
 */
export function honestClient(port: number, addresses: readonly string[], options: { everyMs?: number; timeoutMs?: number } = {}): HonestClient {
  const everyMs = options.everyMs ?? 50;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const body = encodeBinary({ addresses });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let result: ProbeResult = { ok: 0, failed: 0, latenciesMs: [], failures: [] };
  let running = true;
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      let done = false;
      const finish = (failure?: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        result.latenciesMs.push(performance.now() - started);
        if (failure === undefined) result.ok++;
        else {
          result.failed++;
          if (result.failures.length < 10) result.failures.push(failure);
        }
        resolve();
      };
      const req = http.request(
        { host: '127.0.0.1', port, localAddress: HONEST_HOST, agent, method: 'POST', path: '/atlas/v1/getChunks', headers: { 'content-type': 'application/msgpack', 'content-length': body.byteLength } },
        (res) => {
          let bytes = 0;
          res.on('data', (part: Buffer) => (bytes += part.byteLength));
          res.on('end', () => finish(res.statusCode === 200 && bytes > 0 ? undefined : `status ${res.statusCode}`));
          res.on('error', (error) => finish(String(error)));
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish('timeout');
      }, timeoutMs);
      req.on('error', (error) => finish(String(error)));
      req.end(body);
    });
  const loop = (async () => {
    while (running) {
      await once();
      if (running) await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  const take = () => {
    const taken = result;
    result = { ok: 0, failed: 0, latenciesMs: [], failures: [] };
    return taken;
  };
  return {
    take,
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return take();
    },
  };
}

/** Every spelling of the hex address `hex` in upper and lower case letters, up to `count` of them, all different. */
export function caseVariants(hex: string, count: number): string[] {
  const letters = [...hex].flatMap((c, i) => (/[a-f]/.test(c) ? [i] : []));
  const variants: string[] = [];
  for (let mask = 0; variants.length < count && mask < 2 ** Math.min(letters.length, 20); mask++) {
    const chars = [...hex];
    letters.forEach((position, bit) => {
      if (bit < 20 && mask & (1 << bit)) chars[position] = (chars[position] as string).toUpperCase();
    });
    variants.push(chars.join(''));
  }
  return variants;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
