/**
 * XML-RPC writer: values, method calls, responses and faults, as UTF-8 XML text. Numbers go out
 * as <int> when they fit 32 bits, <i8> when they are other safe integers, <double> otherwise.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { escapeXmlText } from './xml-text.js';
import { DEFAULT_XMLRPC_LIMITS, INT32_MAX, INT32_MIN, type XmlRpcValue } from './xmlrpc-value.js';

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const METHOD_NAME = /^[A-Za-z0-9_.:/]+$/;

function refuse(message: string): never {
  throw new AtlasError(ErrorCodes.BAD_REQUEST, `cannot encode as XML-RPC: ${message}`);
}

function encodeNumber(value: number): string {
  if (!Number.isFinite(value)) refuse(`${value} (XML-RPC has no NaN or infinity)`);
  if (Number.isInteger(value)) {
    if (value >= INT32_MIN && value <= INT32_MAX) return `<int>${value === 0 ? 0 : value}</int>`;
    if (Number.isSafeInteger(value)) return `<i8>${value}</i8>`;
  }
  return `<double>${String(value)}</double>`;
}

function encodeInto(value: XmlRpcValue, depth: number, maxDepth: number, out: string[]): void {
  if (typeof value === 'string') {
    out.push('<value><string>', escapeXmlText(value), '</string></value>');
  } else if (typeof value === 'number') {
    out.push('<value>', encodeNumber(value), '</value>');
  } else if (typeof value === 'boolean') {
    out.push(value ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>');
  } else if (value === null) {
    out.push('<value><nil/></value>');
  } else if (value instanceof Uint8Array) {
    out.push('<value><base64>', Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'), '</base64></value>');
  } else if (Array.isArray(value)) {
    if (depth >= maxDepth) refuse(`nested deeper than ${maxDepth}`);
    out.push('<value><array><data>');
    for (const item of value) encodeInto(item, depth + 1, maxDepth, out);
    out.push('</data></array></value>');
  } else if (typeof value === 'object') {
    if (depth >= maxDepth) refuse(`nested deeper than ${maxDepth}`);
    out.push('<value><struct>');
    for (const name of Object.keys(value)) {
      out.push('<member><name>', escapeXmlText(name), '</name>');
      encodeInto(value[name] as XmlRpcValue, depth + 1, maxDepth, out);
      out.push('</member>');
    }
    out.push('</struct></value>');
  } else {
    refuse(`a value of type ${typeof value}`);
  }
}

/** One <value> element. */
export function serializeValue(value: XmlRpcValue, maxDepth = DEFAULT_XMLRPC_LIMITS.maxDepth): string {
  const out: string[] = [];
  encodeInto(value, 0, maxDepth, out);
  return out.join('');
}

/** An XML-RPC `methodCall` document for `methodName` and `params`. */
export function serializeMethodCall(methodName: string, params: readonly XmlRpcValue[], maxDepth = DEFAULT_XMLRPC_LIMITS.maxDepth): string {
  if (!METHOD_NAME.test(methodName)) refuse(`method name ${JSON.stringify(methodName.slice(0, 64))}`);
  const out: string[] = [DECLARATION, '<methodCall><methodName>', methodName, '</methodName><params>'];
  for (const param of params) {
    out.push('<param>');
    encodeInto(param, 0, maxDepth, out);
    out.push('</param>');
  }
  out.push('</params></methodCall>\n');
  return out.join('');
}

/** An XML-RPC `methodResponse` document carrying `value`. */
export function serializeMethodResponse(value: XmlRpcValue, maxDepth = DEFAULT_XMLRPC_LIMITS.maxDepth): string {
  const out: string[] = [DECLARATION, '<methodResponse><params><param>'];
  encodeInto(value, 0, maxDepth, out);
  out.push('</param></params></methodResponse>\n');
  return out.join('');
}

/** A fault reply; characters XML cannot carry in the message are replaced, never refused. */
export function serializeFault(faultCode: number, faultString: string): string {
  const safe = faultString.replace(/[^\t\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD');
  const out: string[] = [DECLARATION, '<methodResponse><fault>'];
  encodeInto({ faultCode: Math.trunc(faultCode) | 0, faultString: safe }, 0, 2, out);
  out.push('</fault></methodResponse>\n');
  return out.join('');
}
