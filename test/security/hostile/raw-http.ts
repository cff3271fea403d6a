/**
 * Raw-socket HTTP clients for hostile-input tests: a case is bytes written to one connection
 * (possibly in slow pieces), then a half-close; the result is every response the server wrote,
 * parsed just enough to count them and read their status, and how the connection ended.
 */
import net from 'node:net';
import fc from 'fast-check';
import { encodeBinary, encodeJsonText } from '../../../src/transport/codec.js';
import { addressArb, type FuzzRequest } from './requests.js';
import type { FuzzPool } from './target.js';

export interface RawCase {
  label: string;
  pieces: Uint8Array[];
  /** Pause between pieces, for slow senders. */
  pauseMs?: number;
  /** Request methods in order, to know which responses have no body (HEAD). */
  methods: string[];
  /** Keep our side open after writing (a slow or stalled sender) instead of half-closing. */
  keepOpen?: boolean;
}

export interface RawResult {
  statuses: number[];
  received: number;
  /** The server closed (FIN or reset) before our deadline. */
  closedByServer: boolean;
  timedOut: boolean;
  overflow: boolean;
  parseError?: string;
}

export interface RawOptions {
  timeoutMs: number;
  /** Most bytes read from the server before giving up (a reply that large is itself a failure). */
  maxBytes: number;
}

export function rawExchange(port: number, rawCase: RawCase, options: RawOptions): Promise<RawResult> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let received = 0;
    let overflow = false;
    let timedOut = false;
    let closedByServer = false;
    let done = false;
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, options.timeoutMs);
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const bytes = Buffer.concat(parts);
      const parsed = parseResponses(bytes, rawCase.methods);
      resolve({ statuses: parsed.statuses, received, closedByServer, timedOut, overflow, ...(parsed.error ? { parseError: parsed.error } : {}) });
    };
    socket.on('data', (part: Buffer) => {
      received += part.byteLength;
      if (received > options.maxBytes) {
        overflow = true;
        socket.destroy();
        return;
      }
      parts.push(part);
    });
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset or a broken pipe means the server cut the connection: an accepted ending.
      if (!timedOut && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) closedByServer = true;
    });
    socket.on('close', finish);
    socket.once('connect', () => {
      void (async () => {
        for (let i = 0; i < rawCase.pieces.length; i++) {
          if (socket.destroyed) return;
          if (i > 0 && rawCase.pauseMs) await new Promise((r) => setTimeout(r, rawCase.pauseMs));
          if (socket.destroyed) return;
          const flushed = socket.write(rawCase.pieces[i] as Uint8Array);
          if (!flushed) await new Promise<void>((r) => {
            socket.once('drain', r);
            socket.once('close', r);
          });
        }
        if (!rawCase.keepOpen && !socket.destroyed) socket.end();
      })();
    });
  });
}

const HEAD_END = Buffer.from('\r\n\r\n');

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');

/** The stream without its interim 100 Continue responses (Node writes one late, mid-body, when pipelined requests expect it). */
function withoutContinues(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(CONTINUE); at !== -1; at = bytes.indexOf(CONTINUE, from)) {
    parts.push(bytes.subarray(from, at));
    from = at + CONTINUE.length;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

/** Splits a stream of HTTP/1.x responses; stops at the first thing that is not one. */
export function parseResponses(raw: Buffer, methods: readonly string[]): { statuses: number[]; error?: string } {
  const bytes = withoutContinues(raw);
  const statuses: number[] = [];
  let pos = 0;
  let request = 0;
  while (pos < bytes.length) {
    const headEnd = bytes.indexOf(HEAD_END, pos);
    if (headEnd === -1) return { statuses, error: 'incomplete response head' };
    const head = bytes.toString('latin1', pos, headEnd);
    const statusLine = /^HTTP\/1\.[01] (\d{3})[^\r\n]*/.exec(head);
    if (!statusLine) return { statuses, error: `not a status line: ${JSON.stringify(head.slice(0, 40))}` };
    const status = Number(statusLine[1]);
    statuses.push(status);
    const header = (name: string) => new RegExp(`\\r\\n${name}:[ \\t]*([^\\r\\n]*)`, 'i').exec(head)?.[1];
    let at = headEnd + 4;
    if (status < 200) {
      pos = at; // 100 Continue: the real response follows
      continue;
    }
    const method = methods[request++] ?? 'GET';
    if (method === 'HEAD' || status === 204 || status === 304) {
      pos = at;
    } else if (/chunked/i.test(header('transfer-encoding') ?? '')) {
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', at);
        if (lineEnd === -1) return { statuses, error: 'incomplete chunk size' };
        const size = parseInt(bytes.toString('latin1', at, lineEnd), 16);
        if (!Number.isFinite(size)) return { statuses, error: 'bad chunk size' };
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      pos = at;
    } else if (header('content-length') !== undefined) {
      pos = at + Number(header('content-length'));
      if (pos > bytes.length) return { statuses, error: 'incomplete body' };
    } else {
      pos = bytes.length; // read until close
    }
  }
  return { statuses };
}

// --- building requests ------------------------------------------------------------------------

const enc = new TextEncoder();

export interface HttpRequestSpec {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  body: Uint8Array;
  framing: 'length' | 'chunked' | 'none' | 'short-length' | 'long-length' | 'bad-chunked' | 'both';
}

export function httpRequestBytes(spec: HttpRequestSpec): Uint8Array {
  const headers = [...spec.headers];
  let body = spec.body;
  switch (spec.framing) {
    case 'length':
      headers.push(['Content-Length', String(body.byteLength)]);
      break;
    case 'short-length':
      headers.push(['Content-Length', String(Math.max(0, body.byteLength - 3))]);
      break;
    case 'long-length':
      headers.push(['Content-Length', String(body.byteLength + 50)]);
      break;
    case 'chunked':
    case 'bad-chunked': {
      headers.push(['Transfer-Encoding', 'chunked']);
      const size = spec.framing === 'chunked' ? body.byteLength.toString(16) : 'zz';
      body = Buffer.concat([enc.encode(`${size}\r\n`), body, enc.encode('\r\n0\r\n\r\n')]);
      break;
    }
    case 'both':
      headers.push(['Content-Length', String(body.byteLength)], ['Transfer-Encoding', 'chunked']);
      break;
    case 'none':
      break;
  }
  const head = `${spec.method} ${spec.target} ${spec.version}\r\nHost: 127.0.0.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function encodeBody(params: unknown, format: 'msgpack' | 'json'): Uint8Array {
  try {
    return format === 'msgpack' ? encodeBinary(params) : enc.encode(encodeJsonText(params));
  } catch {
    return enc.encode('{"unencodable":true}');
  }
}

const contentTypes = fc.constantFrom(
  'application/msgpack', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/MSGPACK', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/xml', '', 'application/msgpack, application/json', 'application/json; charset=utf-16',
);

const extraHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom<[string, string]>(
    ['Accept', 'application/json'], ['Accept', 'application/msgpack'], ['Accept', '*/*'], ['Accept', 'text/html;q=0.1, garbage'],
    ['Connection', 'close'], ['Connection', 'keep-alive'], ['Connection', 'upgrade'], ['Upgrade', 'websocket'], ['Expect', '100-continue'],
    ['If-None-Match', '*'], ['If-None-Match', 'W/"abc", "def"'], ['Content-Encoding', 'gzip'], ['X-Forwarded-For', '1.2.3.4'], ['Host', 'evil.example'],
    ['Content-Length', '-1'], ['Content-Length', '99999999999999999999'], ['Content-Length', '1, 2'], ['Transfer-Encoding', 'gzip, chunked'],
  ),
  fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.string({ maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, ' '))),
  fc.tuple(fc.constant('X-Bad'), fc.constantFrom('a\u0000b', 'a\rb', 'caf\u00e9', '\u0007')),
);

function targetArb(pool: FuzzPool, method: string): fc.Arbitrary<string> {
  const rpcName = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(method) ? method : encodeURIComponent(method).slice(0, 80) || 'x';
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(`/atlas/v1/${rpcName}`) },
    { weight: 3, arbitrary: addressArb(pool).map((a) => `/chunks/${encodeURIComponent(typeof a === 'string' ? a : String(a)).slice(0, 200)}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '/status', '/metrics', '/', '*', '//atlas/v1/ping', '/atlas/v1/', '/atlas/v1/ping?x=1&x=2', '/atlas/v1/ping#frag', 'http://127.0.0.1/atlas/v1/ping',
        '/%2e%2e/%2e%2e/etc/passwd', '/chunks/..%2f..%2f', '/chunks/', `/chunks/${'a'.repeat(8_000)}`, '/atlas/v1/\u00e9', '/\\..\\', 'atlas/v1/ping', '',
        '/v1/zonefiles/0000000000000000000000000000000000000000', '/v1/zonefile', '/RPC2', '/v2/attachments/inv?index_block_hash=00&pages_indexes=1,2,3,4,5,6,7,8,9',
        '/v2/attachments/inv?pages_indexes=-1', `/v2/attachments/${'f'.repeat(40)}`, '/v1/zonefiles/../../etc',
      ),
    },
  );
}

/** One HTTP request built around a hostile protocol request: route, verb, headers, body and framing all vary. */
export function requestSpecArb(pool: FuzzPool, request: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<HttpRequestSpec> {
  return request.chain((r) =>
    fc.record({
      method: fc.oneof(
        { weight: 10, arbitrary: fc.constant('POST') },
        { weight: 3, arbitrary: fc.constantFrom('GET', 'HEAD') },
        { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'FOO', 'get', 'POST POST', 'PRI') },
      ),
      target: targetArb(pool, r.method),
      version: fc.oneof({ weight: 12, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1x', 'HTTPS/1.1', '') }),
      format: fc.constantFrom<'msgpack' | 'json'>('msgpack', 'json'),
      contentType: fc.oneof({ weight: 4, arbitrary: fc.constant('matching') }, { weight: 1, arbitrary: contentTypes }),
      extraHeaders: fc.oneof({ weight: 3, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 2, arbitrary: fc.array(extraHeader, { maxLength: 3 }) }),
      body: fc.tuple(fc.nat(), fc.oneof(
        { weight: 6, arbitrary: fc.constant<'none'>('none') },
        { weight: 1, arbitrary: fc.constantFrom<'truncate' | 'flip' | 'append' | 'random'>('truncate', 'flip', 'append', 'random') },
      ), fc.uint8Array({ maxLength: 64 })).map(([at, mutation, noise]) => (format: 'msgpack' | 'json') => {
        const body = encodeBody(r.params, format);
        switch (mutation) {
          case 'truncate':
            return body.subarray(0, at % Math.max(1, body.byteLength));
          case 'flip': {
            const copy = Uint8Array.from(body);
            if (copy.length > 0) copy[at % copy.length] = (copy[at % copy.length] as number) ^ 0xff;
            return copy;
          }
          case 'append':
            return Buffer.concat([body, noise]);
          case 'random':
            return noise;
          case 'none':
            return body;
        }
      }),
      framing: fc.oneof(
        { weight: 10, arbitrary: fc.constant<HttpRequestSpec['framing']>('length') },
        { weight: 1, arbitrary: fc.constantFrom<HttpRequestSpec['framing']>('chunked', 'none', 'short-length', 'long-length', 'bad-chunked', 'both') },
      ),
    }).map(({ format, contentType, extraHeaders, body, ...rest }): HttpRequestSpec => {
      const type = contentType === 'matching' ? `application/${format}` : contentType;
      return { ...rest, headers: type === '' ? extraHeaders : [['Content-Type', type], ...extraHeaders], body: body(format) };
    }),
  );
}

const XML_METHODS = ['getinfo', 'ping', 'get_zonefiles', 'put_zonefiles', 'get_zonefile_inventory', 'get_atlas_peers', 'atlas_peer_exchange', 'system.listMethods', 'nope', ''];

/** XML-RPC values, right and wrong, for the legacy API's parameters. */
function xmlValueArb(pool: FuzzPool): fc.Arbitrary<string> {
  const known = [...pool.held, ...pool.missing, ...pool.unannounced];
  return fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      fc.constantFrom(...known).map((c) => `<value><string>${c.address}</string></value>`),
      fc.constantFrom(...known).map((c) => `<value><base64>${Buffer.from(c.data).toString('base64')}</base64></value>`),
      fc.string({ maxLength: 30 }).map((t) => `<value><string>${t.replace(/[<&]/g, '')}</string></value>`),
      fc.constantFrom('<value><int>-1</int></value>', '<value><int>99999999999999999999</int></value>', '<value><i4>524289</i4></value>', '<value><double>NaN</double></value>', '<value><base64>!!!</base64></value>', '<value><boolean>2</boolean></value>', '<value/>', '<value><nil/></value>'),
      fc.array(tie('value'), { maxLength: 5 }).map((items) => `<value><array><data>${items.join('')}</data></array></value>`),
      fc.array(tie('value'), { maxLength: 3 }).map((items) => `<value><struct>${items.map((v, i) => `<member><name>m${i}</name>${v}</member>`).join('')}</struct></value>`),
    ),
  })).value;
}

const HOSTILE_XML = [
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><methodCall><methodName>&lol4;</methodName></methodCall>',
  '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>getinfo</methodName><params><param><value><string>&xxe;</string></value></param></params></methodCall>',
  `<methodCall><methodName>get_zonefiles</methodName><params><param>${'<value><array><data>'.repeat(2_000)}${'</data></array></value>'.repeat(2_000)}</param></params></methodCall>`,
  `<methodCall><methodName>get_zonefiles</methodName><params><param><value><array><data>${'<value><string>0000000000000000000000000000000000000000</string></value>'.repeat(5_000)}</data></array></value></param></params></methodCall>`,
  '<methodCall><methodName>getinfo</methodName>',
  '<methodCall><methodName>getinfo</methodName></methodCall><methodCall><methodName>getinfo</methodName></methodCall>',
  '\ufeff<?xml version="1.0" encoding="UTF-16"?><methodCall/>',
];

/** XML-RPC calls to the legacy endpoint: every method with fuzzed parameters, and hostile documents. */
export function xmlRpcCaseArb(pool: FuzzPool): fc.Arbitrary<RawCase> {
  const call = fc.tuple(fc.constantFrom(...XML_METHODS), fc.array(xmlValueArb(pool), { maxLength: 4 })).map(
    ([method, params]) => `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${p}</param>`).join('')}</params></methodCall>`,
  );
  const body = fc.oneof({ weight: 6, arbitrary: call }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_XML) });
  return fc.tuple(body, fc.constantFrom('/RPC2', '/'), fc.constantFrom('text/xml', 'application/xml', 'text/plain', '')).map(([xml, path, type]): RawCase => {
    const bytes = Buffer.from(xml, 'utf8');
    const head = `POST ${path} HTTP/1.1\r\nHost: x\r\n${type ? `Content-Type: ${type}\r\n` : ''}Content-Length: ${bytes.byteLength}\r\n\r\n`;
    return { label: `xml-rpc ${xml.slice(0, 60)}`, pieces: [Buffer.concat([Buffer.from(head, 'latin1'), bytes])], methods: ['POST'] };
  });
}

/** Whole raw cases: single and pipelined requests, garbage, truncation, huge heads and bodies. */
export function rawCaseArb(pool: FuzzPool, request: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<RawCase> {
  const spec = requestSpecArb(pool, request);
  const single = spec.map((s): RawCase => ({ label: `${s.method} ${s.target.slice(0, 40)} (${s.framing})`, pieces: [httpRequestBytes(s)], methods: [s.method] }));
  const pipelined = fc.tuple(fc.array(spec, { minLength: 2, maxLength: 4 }), fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined })).map(
    ([specs, trailer]): RawCase => ({
      label: `pipelined ${specs.length}${trailer ? ' + garbage' : ''}`,
      pieces: [Buffer.concat([...specs.map(httpRequestBytes), trailer ?? new Uint8Array(0)])],
      methods: specs.map((s) => s.method),
    }),
  );
  const garbage = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 2_048 }), fc.string({ maxLength: 300 }).map((s) => enc.encode(s.replace(/\n/g, '\r\n')))).map(
    (bytes): RawCase => ({ label: 'garbage', pieces: [bytes], methods: [] }),
  );
  const truncated = fc.tuple(spec, fc.nat()).map(([s, at]): RawCase => {
    const bytes = httpRequestBytes(s);
    return { label: `truncated ${s.method}`, pieces: [bytes.subarray(0, at % bytes.byteLength)], methods: [s.method] };
  });
  const hugeHead = fc.integer({ min: 17_000, max: 70_000 }).map((size): RawCase => ({
    label: `header of ${size} bytes`,
    pieces: [enc.encode(`GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(size)}\r\n\r\n`)],
    methods: ['GET'],
  }));
  const manyHeaders = fc.integer({ min: 200, max: 3_000 }).map((count): RawCase => ({
    label: `${count} headers`,
    pieces: [enc.encode(`GET /status HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(count)}\r\n`)],
    methods: ['GET'],
  }));
  const hugeBody = fc.constantFrom(1_100_000, 3_000_000).map((size): RawCase => ({
    label: `body of ${size} bytes`,
    pieces: [enc.encode(`POST /atlas/v1/putChunks HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: ${size}\r\n\r\n`), new Uint8Array(size).fill(0x91)],
    methods: ['POST'],
  }));
  const hugeDeclared = fc.constantFrom('1048577', '9007199254740993', '1e9').map((length): RawCase => ({
    label: `declared body of ${length}`,
    pieces: [enc.encode(`POST /atlas/v1/getChunks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"addresses":[]}`)],
    methods: ['POST'],
  }));
  return fc.oneof(
    { weight: 12, arbitrary: single },
    { weight: 3, arbitrary: pipelined },
    { weight: 2, arbitrary: garbage },
    { weight: 2, arbitrary: truncated },
    { weight: 1, arbitrary: fc.oneof(hugeHead, manyHeaders, hugeBody, hugeDeclared) },
    { weight: 3, arbitrary: xmlRpcCaseArb(pool) },
  );
}

/** A sender that trickles a request (or garbage) and never finishes: the server must cut it off. */
export function slowCaseArb(pool: FuzzPool, request: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<RawCase> {
  return fc.tuple(requestSpecArb(pool, request), fc.integer({ min: 2, max: 40 }), fc.boolean()).map(([s, pieces, headOnly]) => {
    const bytes = httpRequestBytes({ ...s, method: 'POST', version: 'HTTP/1.1', framing: 'long-length' });
    const headEnd = Buffer.from(bytes).indexOf(HEAD_END);
    const cut = headOnly ? Math.max(1, headEnd) : bytes.byteLength;
    const size = Math.max(1, Math.ceil(cut / pieces));
    const slices: Uint8Array[] = [];
    for (let at = 0; at < cut; at += size) slices.push(bytes.subarray(at, Math.min(cut, at + size)));
    return { label: `slow ${headOnly ? 'head' : 'body'} in ${slices.length} pieces`, pieces: slices, pauseMs: 100, methods: ['POST'], keepOpen: true };
  });
}

/** What must hold for every raw case: an answer or a cut connection, in time, bounded, never a 5xx. */
export function rawProblems(result: RawResult, allowBusy = false): string[] {
  const problems: string[] = [];
  if (result.timedOut) problems.push('no reply and no close before the deadline');
  if (result.overflow) problems.push(`more than the allowed bytes in reply (${result.received})`);
  if (result.parseError !== undefined) problems.push(`unparseable reply: ${result.parseError}`);
  for (const status of result.statuses) {
    const fine = status === 100 || status === 200 || status === 304 || (status >= 400 && status < 500) || (allowBusy && status === 503);
    if (!fine) problems.push(`status ${status}`);
  }
  if (result.statuses.length === 0 && !result.closedByServer) problems.push('neither a reply nor a close');
  return problems;
}
