/**
 * The XML-RPC codec: round trips of every value type (fast-check), the wire forms other
 * implementations send (Python's xmlrpc.client), and hostile documents, which must end in a clear
 * fault, never a crash, a hang or an expansion.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import {
  DEFAULT_XMLRPC_LIMITS,
  FAULT_INVALID_XMLRPC,
  FAULT_NOT_WELL_FORMED,
  parseMethodCall,
  parseMethodResponse,
  serializeFault,
  serializeMethodCall,
  serializeMethodResponse,
  type XmlRpcValue,
} from '../../src/legacy/index.js';

const INVALID_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const xmlString = fc.string({ unit: 'binary', maxLength: 24 }).filter((s) => !INVALID_XML_CHAR.test(s));

const { value: xmlRpcValue } = fc.letrec<{ value: XmlRpcValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    xmlString,
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (d === 0 ? 0 : d)),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 48 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(xmlString, tie('value'), { maxKeys: 4 }),
  ),
}));

function call(params: string): string {
  return `<?xml version='1.0'?>\n<methodCall>\n<methodName>m</methodName>\n<params>\n${params}</params>\n</methodCall>\n`;
}

function param(value: string): string {
  return `<param>\n<value>${value}</value>\n</param>\n`;
}

/** Runs `fn` and returns the fault the error asks for; fails when it does not throw one. */
function faultFrom(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (error) {
    expect(isAtlasError(error)).toBe(true);
    const code = (error as { details?: { faultCode?: unknown } }).details?.faultCode;
    expect(typeof code).toBe('number');
    return { code: code as number, message: (error as Error).message };
  }
  throw new Error('expected a fault');
}

function faultOf(fn: () => unknown): number {
  return faultFrom(fn).code;
}

describe('XML-RPC round trips', () => {
  it('decodes every encoded method call to the same values', () => {
    fc.assert(
      fc.property(fc.array(xmlRpcValue, { maxLength: 4 }), (params) => {
        expect(parseMethodCall(serializeMethodCall('some.method_1', params)).params).toEqual(params);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes every encoded response to the same value, from bytes as from text', () => {
    fc.assert(
      fc.property(xmlRpcValue, (value) => {
        const xml = serializeMethodResponse(value);
        expect(parseMethodResponse(xml)).toEqual({ value });
        expect(parseMethodResponse(Buffer.from(xml, 'utf8'))).toEqual({ value });
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips faults, replacing characters XML cannot carry', () => {
    fc.assert(
      fc.property(fc.integer(), fc.string({ maxLength: 40 }), (code, message) => {
        const decoded = parseMethodResponse(serializeFault(code, message));
        expect(decoded).toEqual({ fault: { faultCode: code, faultString: message.replace(/[^\t\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD') } });
      }),
    );
  });

  it('keeps every character of a string, CR and markup included', () => {
    const text = 'a\r\nb\rc <d> & "e" \'f\' ]]> \u00e9\u{1F600}\t';
    expect(parseMethodCall(serializeMethodCall('m', [text])).params).toEqual([text]);
  });

  it('writes integers by size and refuses what XML-RPC cannot carry', () => {
    expect(serializeMethodResponse(2_147_483_647)).toContain('<int>2147483647</int>');
    expect(serializeMethodResponse(2_147_483_648)).toContain('<i8>2147483648</i8>');
    expect(serializeMethodResponse(0.5)).toContain('<double>0.5</double>');
    expect(() => serializeMethodResponse(Number.NaN)).toThrow(/NaN/);
    expect(() => serializeMethodResponse('\u0001')).toThrow(/XML 1.0/);
    expect(() => serializeMethodCall('bad name', [])).toThrow(/method name/);
  });
});

describe('XML-RPC documents as other implementations write them', () => {
  it("reads Python's xmlrpc.client call forms: whitespace, bare strings, wrapped base64, nil", () => {
    const xml = call(
      param('<array><data>\n<value><string>6f0a&amp;&lt;b&gt;</string></value>\n<value>bare text</value>\n</data></array>') +
        param('<base64>\naGVsbG8g\nd29ybGQ=\n</base64>') +
        param('<nil/>') +
        param('') +
        param('<i4> -5 </i4>') +
        param('<boolean>1</boolean>') +
        param('<double>-1.5e3</double>') +
        param('<struct>\n<member>\n<name>a</name>\n<value><int>1</int></value>\n</member>\n</struct>') +
        param('<string><![CDATA[x&amp;<y]]></string>') +
        param('<string>&#233;&#x1F600;</string>'),
    );
    const { methodName, params } = parseMethodCall(Buffer.from(xml, 'utf8'));
    expect(methodName).toBe('m');
    expect(params).toEqual([
      ['6f0a&<b>', 'bare text'],
      new Uint8Array(Buffer.from('hello world')),
      null,
      '',
      -5,
      true,
      -1500,
      { a: 1 },
      'x&amp;<y',
      '\u00e9\u{1F600}',
    ]);
  });

  it('accepts a call without <params>', () => {
    expect(parseMethodCall('<methodCall><methodName>ping</methodName></methodCall>')).toEqual({ methodName: 'ping', params: [] });
  });
});

describe('hostile and malformed documents', () => {
  it('refuses a billion-laughs DOCTYPE without expanding anything', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 9 }, (_v, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
      ']><methodCall><methodName>m</methodName><params><param><value><string>&lol9;</string></value></param></params></methodCall>';
    expect(faultFrom(() => parseMethodCall(laughs))).toEqual({ code: FAULT_NOT_WELL_FORMED, message: expect.stringMatching(/DOCTYPE/) });
  });

  it('refuses external entities and any other markup declaration', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]><methodCall><methodName>&e;</methodName></methodCall>';
    expect(faultFrom(() => parseMethodCall(xxe))).toEqual({ code: FAULT_NOT_WELL_FORMED, message: expect.stringMatching(/DOCTYPE/) });
    expect(faultOf(() => parseMethodCall('<!ELEMENT x ANY><methodCall><methodName>m</methodName></methodCall>'))).toBe(FAULT_NOT_WELL_FORMED);
  });

  it('refuses undefined entities and malformed references', () => {
    for (const body of ['&nbsp;', '&#0;', '&#xD800;', '&#99999999;', '&amp', 'a & b']) {
      expect(faultOf(() => parseMethodCall(call(param(`<string>${body}</string>`))))).toBe(FAULT_NOT_WELL_FORMED);
    }
  });

  it('refuses deep nesting quickly, whether XML-RPC or not', () => {
    const arrays = call(param('<array><data><value>'.repeat(5_000) + '</value></data></array>'.repeat(5_000)));
    expect(faultFrom(() => parseMethodCall(arrays))).toEqual({ code: FAULT_INVALID_XMLRPC, message: expect.stringMatching(/nested deeper than 16/) });
    const structs = call(param('<struct><member><name>a</name><value>'.repeat(17) + '1' + '</value></member></struct>'.repeat(17)));
    expect(faultFrom(() => parseMethodCall(structs))).toEqual({ code: FAULT_INVALID_XMLRPC, message: expect.stringMatching(/nested deeper than 16/) });
    // refused on depth before the well-formedness check, whose work grows with the open tags
    expect(faultFrom(() => parseMethodCall('<a>'.repeat(100_000)))).toEqual({ code: FAULT_INVALID_XMLRPC, message: expect.stringMatching(/nested deeper than 16/) });
    // comments, CDATA and self-closing tags do not count as depth
    const decoys = call(param(`<string><![CDATA[${'<a>'.repeat(100)}]]></string>`)).replace('<params>', `<!--${'<a>'.repeat(100)}--><params>`);
    expect(parseMethodCall(decoys).params).toEqual(['<a>'.repeat(100)]);
    // 16 levels is the default limit, and it is reachable
    const sixteen = call(param('<array><data><value>'.repeat(16) + '<int>1</int>' + '</value></data></array>'.repeat(16)));
    expect(parseMethodCall(sixteen).params).toHaveLength(1);
  });

  it('refuses a document of more elements than its values could take before the parser builds them (4 a value)', () => {
    // 512 KiB of tiny elements cost the parser 250 ms a call, and one host sending a few a second held the event loop.
    const tiny = call(param(`<array><data>${'<a/>'.repeat(131_000)}</data></array>`));
    const pairs = call(param(`<array><data>${'<a></a>'.repeat(70_000)}</data></array>`));
    for (const text of [tiny, pairs]) expect(faultFrom(() => parseMethodCall(text))).toEqual({ code: FAULT_INVALID_XMLRPC, message: expect.stringMatching(/more than 40008 elements/) });
    // The most values a call may hold still parse, each in its own element, as do struct members.
    const most = call(param(`<array><data>${'<value><string>a</string></value>'.repeat(9_999)}</data></array>`));
    expect((parseMethodCall(most).params[0] as unknown[]).length).toBe(9_999);
    const members = call(param(`<struct>${Array.from({ length: 4_000 }, (_, i) => `<member><name>k${i}</name><value><i4>${i}</i4></value></member>`).join('')}</struct>`));
    expect(Object.keys(parseMethodCall(members).params[0] as object)).toHaveLength(4_000);
    // Comments, CDATA sections and processing instructions are no elements.
    const decoys = call(param(`<string><![CDATA[${'<a/>'.repeat(50_000)}]]></string>`)).replace('<params>', `<!--${'<a/>'.repeat(50_000)}--><params>`);
    expect(parseMethodCall(decoys).params).toEqual(['<a/>'.repeat(50_000)]);
  });

  it('refuses attributes before the validator runs: a quoted ">" cannot make a deep document look shallow', () => {
    // Each tag reads as self-closing to a scan that ignores quotes, and as open to the validator.
    const disguised = call(param(`<string>${'<a x="/>">'.repeat(50_000)}</string>`));
    const startedAt = performance.now();
    expect(faultFrom(() => parseMethodCall(disguised))).toEqual({ code: FAULT_NOT_WELL_FORMED, message: expect.stringMatching(/no attributes/) });
    expect(faultOf(() => parseMethodCall(`<methodCall ${'b '.repeat(100_000)}><methodName>ping</methodName></methodCall>`))).toBe(FAULT_NOT_WELL_FORMED);
    expect(faultOf(() => parseMethodCall('<methodCall><methodName>m</methodName><params><param><value><string a=\'1\'>x</string></value></param></params></methodCall>'))).toBe(FAULT_NOT_WELL_FORMED);
    expect(performance.now() - startedAt).toBeLessThan(2_000); // linear: a quadratic pass would take minutes
    // Namespace declarations are taken (some clients put one on the root), a '>' in their value ends no tag,
    // and a deep document cannot hide behind them.
    const declared = call(param('<string>ns</string>')).replace('<methodCall>', '<methodCall xmlns="http://example.com/ns" xmlns:ex = \'http://ws.apache.org/xmlrpc/namespaces/extensions\'>');
    expect(parseMethodCall(declared).params).toEqual(['ns']);
    const hidden = call(param(`<string>${'<a xmlns="/>">'.repeat(30_000)}</string>`));
    expect(faultOf(() => parseMethodCall(hidden))).toBe(FAULT_NOT_WELL_FORMED);
    expect(faultOf(() => parseMethodCall(call(param(`<string>${'<a xmlns:p="x"/>'.repeat(17)}</string>`))))).toBe(FAULT_NOT_WELL_FORMED); // more than 16 declarations
    // Quotes and equals signs in text are text.
    expect(parseMethodCall(call(param('<string>a="b" \'c\' &lt;d e="/&gt;"&gt;</string>'))).params).toEqual(['a="b" \'c\' <d e="/>">']);
  });

  it('cuts a malformed document\'s fault to a bounded length, however much of the document the validator quotes', () => {
    const unclosed = `<methodCall>${Array.from({ length: 20 }, (_, i) => `<${'t'.repeat(10_000)}${i}>`).join('')}`;
    const fault = faultFrom(() => parseMethodCall(unclosed, { maxBytes: 1_000_000 }));
    expect(fault.message.length).toBeLessThanOrEqual(500);
  });

  it('refuses integers that do not fit their type', () => {
    for (const value of ['<int>2147483648</int>', '<i4>-2147483649</i4>', '<i8>9007199254740992</i8>', '<int>99999999999999999999999</int>', '<int>1e5</int>', '<int>0x10</int>', '<int></int>']) {
      expect(faultOf(() => parseMethodCall(call(param(value))))).toBe(FAULT_INVALID_XMLRPC);
    }
    expect(parseMethodCall(call(param('<i8>-9007199254740991</i8>'))).params).toEqual([-9_007_199_254_740_991]);
  });

  it('refuses wrong types and misplaced elements', () => {
    const bad = [
      call(param('<boolean>2</boolean>')),
      call(param('<double>NaN</double>')),
      call(param('<double>inf</double>')),
      call(param('<base64>!!!!</base64>')),
      call(param('<dateTime.iso8601>20240101T00:00:00</dateTime.iso8601>')),
      call(param('<nil>x</nil>')),
      call(param('<string><b>x</b></string>')),
      call(param('<int>1</int><int>2</int>')),
      call(param('text<int>1</int>')),
      call(param('<struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct>')),
      call(param('<struct><member><value>1</value><name>a</name></member></struct>')),
      call(param('<array><value>1</value></array>')),
      call('stray text'),
      '<methodResponse><params/></methodResponse>',
      '<methodCall><params/></methodCall>',
      '<methodCall><methodName>two words</methodName></methodCall>',
      '<methodCall><methodName>m</methodName><extra/></methodCall>',
    ];
    for (const xml of bad) expect(faultOf(() => parseMethodCall(xml))).toBe(FAULT_INVALID_XMLRPC);
  });

  it('refuses documents that are not well-formed XML or not UTF-8', () => {
    const bad: (string | Uint8Array)[] = [
      '',
      'not xml',
      '<methodCall><methodName>m</methodName>',
      '<methodCall><methodName>m</methodCall></methodName>',
      '<methodCall><methodName>m\u0001</methodName></methodCall>',
      '<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>m</methodName></methodCall>',
      new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]),
    ];
    for (const xml of bad) expect(faultOf(() => parseMethodCall(xml))).toBe(FAULT_NOT_WELL_FORMED);
    expect(faultOf(() => parseMethodCall('<methodCall><methodName>m</methodName></methodCall><methodCall/>'))).toBe(FAULT_INVALID_XMLRPC);
  });

  it('holds documents to their size and value-count limits', () => {
    const values = call(param('<array><data>' + '<value><int>1</int></value>'.repeat(101) + '</data></array>'));
    expect(faultFrom(() => parseMethodCall(values, { maxValues: 100 }))).toEqual({ code: FAULT_INVALID_XMLRPC, message: 'more than 100 values' });
    expect(parseMethodCall(values, { maxValues: 102 }).params[0]).toHaveLength(101);
    const error = (() => {
      try {
        parseMethodCall(call(param('x'.repeat(2_000))), { maxBytes: 1_000 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isAtlasError(error, 'TOO_LARGE')).toBe(true);
  });

  it('reads a response as large as a get_zonefiles reply by default (5.5 MB: a call is held to 512 KiB), and no larger than 8 MiB', () => {
    const reply = serializeMethodResponse(JSON.stringify({ status: true, zonefiles: { a: 'x'.repeat(5_500_000) } }));
    expect(Buffer.byteLength(reply)).toBeGreaterThan(DEFAULT_XMLRPC_LIMITS.maxBytes);
    expect(parseMethodResponse(reply)).toMatchObject({ value: expect.stringContaining('"zonefiles"') });
    expect(faultOf(() => parseMethodResponse(reply, { maxBytes: 1_000_000 }))).toBe(FAULT_INVALID_XMLRPC);
    const huge = serializeMethodResponse('y'.repeat(9 * 1024 * 1024));
    expect(faultOf(() => parseMethodResponse(huge))).toBe(FAULT_INVALID_XMLRPC);
  });

  it('answers an element named constructor or __proto__ as invalid XML-RPC (-32600), in words of its own', () => {
    for (const name of ['constructor', '__proto__']) {
      const fault = faultFrom(() => parseMethodCall(call(param(`<${name}/>`))));
      expect(fault).toEqual({ code: FAULT_INVALID_XMLRPC, message: 'an element name that XML-RPC does not have' });
    }
  });

  it('never lets a struct member reach a prototype', () => {
    const xml = call(param('<struct><member><name>__proto__</name><value><struct><member><name>polluted</name><value>yes</value></member></struct></value></member></struct>'));
    const [struct] = parseMethodCall(xml).params as [Record<string, unknown>];
    expect(Object.getPrototypeOf(struct)).toBe(null);
    expect(Object.keys(struct)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers random bytes and mutated documents with a fault or a value, never another error', () => {
    const valid = serializeMethodCall('get_zonefiles', [['a'.repeat(40), 'b'.repeat(40)], 5, { k: [true, null] }]);
    const outcome = (input: string | Uint8Array) => {
      try {
        parseMethodCall(input);
        return 'value';
      } catch (error) {
        if (!isAtlasError(error)) throw error;
        return 'fault';
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(['value', 'fault']).toContain(outcome(bytes));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(valid.length), fc.nat(valid.length), fc.string({ maxLength: 8 }), (start, cut, insert) => {
        const from = Math.min(start, cut);
        const mutated = valid.slice(0, from) + insert + valid.slice(Math.max(start, cut));
        expect(['value', 'fault']).toContain(outcome(mutated));
      }),
      { numRuns: 500 },
    );
  });
});
