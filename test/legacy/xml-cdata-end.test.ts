/**
 * XML 1.0 §2.4: the literal `]]>` may not appear in character data; it only ends a CDATA section.
 * The XML-RPC reader refuses a document holding it as not well-formed (-32700), as it refuses other
 * malformed XML, while `]]>` escaped, inside a CDATA section's split or a comment stays legal.
 */
import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { FAULT_NOT_WELL_FORMED, parseMethodCall, parseMethodResponse, serializeMethodCall, serializeMethodResponse } from '../../src/legacy/index.js';

/** A call as Python's xmlrpc.client writes one, with `value` as its only parameter's <value> content. */
function call(value: string, methodName = 'get_zonefiles'): string {
  return `<?xml version='1.0'?>\n<methodCall>\n<methodName>${methodName}</methodName>\n<params>\n<param>\n<value>${value}</value>\n</param>\n</params>\n</methodCall>\n`;
}

function faultFrom(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (error) {
    expect(isAtlasError(error)).toBe(true);
    return { code: (error as { details: { faultCode: number } }).details.faultCode, message: (error as Error).message };
  }
  throw new Error('expected a fault');
}

const notWellFormed = { code: FAULT_NOT_WELL_FORMED, message: expect.stringMatching(/\]\]>/) };

describe("']]>' in character data", () => {
  it('is refused in a string, typed or bare, as not well-formed', () => {
    expect(faultFrom(() => parseMethodCall(call('<string>6f0a]]>b</string>')))).toEqual(notWellFormed);
    expect(faultFrom(() => parseMethodCall(call(']]>')))).toEqual(notWellFormed);
    expect(faultFrom(() => parseMethodCall(call('<array><data><value><string>a]]>b</string></value></data></array>')))).toEqual(notWellFormed);
  });

  it('is refused right after a CDATA section, where it ends no section', () => {
    expect(faultFrom(() => parseMethodCall(call('<string><![CDATA[x]]>]]></string>')))).toEqual(notWellFormed);
  });

  it('is refused as not well-formed wherever the text is, not only where text is XML-RPC', () => {
    expect(faultFrom(() => parseMethodCall(call('<string>x</string>', 'ping]]>')))).toEqual(notWellFormed);
    expect(faultFrom(() => parseMethodCall(call('<int>1</int>').replace('<params>', '<params>]]>')))).toEqual(notWellFormed);
    expect(faultFrom(() => parseMethodCall(`]]>${call('<int>1</int>').replace(/^<\?xml[^>]*>/, '')}`))).toMatchObject({ code: FAULT_NOT_WELL_FORMED });
  });

  it('is refused in a response too', () => {
    const response = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>{\"a\": \"]]>\"}</string></value>\n</param>\n</params>\n</methodResponse>\n";
    expect(faultFrom(() => parseMethodResponse(response))).toEqual(notWellFormed);
  });

  it('stays legal escaped, split across CDATA sections, in a comment, or as a CDATA section end', () => {
    expect(parseMethodCall(call('<string>a]]&gt;b</string>')).params).toEqual(['a]]>b']);
    expect(parseMethodCall(call('<string><![CDATA[a]]]]><![CDATA[>b]]></string>')).params).toEqual(['a]]>b']);
    expect(parseMethodCall(call('<string>a]]<![CDATA[>]]>b</string>')).params).toEqual(['a]]>b']);
    expect(parseMethodCall(call('<string><!-- ]]> -->a]]</string>')).params).toEqual(['a]]']);
    expect(parseMethodCall(call('<string><![CDATA[<x>]]></string>')).params).toEqual(['<x>']);
    expect(parseMethodCall(call('<string>]] ></string>')).params).toEqual([']] >']);
  });

  it('is written escaped, so what we send reads back', () => {
    expect(serializeMethodCall('m', ['a]]>b'])).not.toContain(']]>');
    expect(parseMethodCall(serializeMethodCall('m', ['a]]>b', { k: ']]>' }])).params).toEqual(['a]]>b', { k: ']]>' }]);
    expect(parseMethodResponse(serializeMethodResponse(']]>'))).toEqual({ value: ']]>' });
  });
});
