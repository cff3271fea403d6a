/**
 * XML-RPC reader: method calls (what the legacy endpoint receives) and method responses (for
 * clients and round-trip tests), on top of fast-xml-parser.
 *
 * The document is untrusted, so the reader is strict and bounded:
 * - at most `maxBytes` of UTF-8 (invalid UTF-8 is refused);
 * - no DOCTYPE or other markup declaration at all, and entity processing off in the parser: the
 *   only references decoded are the five predefined entities and numeric character references
 *   (see xml-text.ts), so there is nothing to expand;
 * - well-formedness is checked (fast-xml-parser's validator, and before it what the validator lets
 *   through: a literal `]]>` in character data) before the tree is read; CDATA sections are read
 *   as text where text is allowed;
 * - nesting bounded (`maxDepth` arrays/structs, enforced by the parser's own tag-depth limit too),
 *   and the number of values bounded (`maxValues`);
 * - every element must be where the XML-RPC grammar puts it; integers must fit their type.
 *
 * Every refusal is an AtlasError (BAD_REQUEST) whose `details.faultCode` says which XML-RPC fault
 * to answer with.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AtlasError, ErrorCodes } from '../errors.js';
import { decodeCharacterData, hasInvalidXmlChar, normalizeNewlines, notWellFormed, tagProblem } from './xml-text.js';
import {
  DEFAULT_XMLRPC_LIMITS,
  FAULT_INVALID_XMLRPC,
  INT32_MAX,
  INT32_MIN,
  type MethodCall,
  type MethodResponse,
  type XmlRpcLimits,
  type XmlRpcStruct,
  type XmlRpcValue,
} from './xmlrpc-value.js';

const TEXT = '#text';
const CDATA = '#cdata';
const ATTRIBUTES = ':@';
const METHOD_NAME = /^[A-Za-z0-9_.:/]+$/;
// Every pattern below is unambiguous (one way to match any input, no nested or adjacent
// quantifiers over the same characters), so matching is linear in the input; the texts of numbers
// are also capped (maxNumberLength) before any pattern sees them.
const INTEGER = /^[+-]?[0-9]{1,20}$/;
const DOUBLE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const XML_SPACE = /^[ \t\r\n]*$/;
const ENCODING = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/;
/** The XML declaration, if any, is at the very start: only this many characters are searched for it. */
const DECLARATION_WINDOW = 256;
/** Elements from the document root to the outermost <value>: methodCall > params > param > value. */
const ENVELOPE_DEPTH = 4;
/** Elements each nested array or struct adds: value > array > data > value, value > struct > member > value. */
const ELEMENTS_PER_LEVEL = 3;
/**
 * Elements a document may hold per value it may hold (maxValues), and for its envelope: a value
 * takes at most four (a struct member's <member>, <name> and <value>, and its type's element, or
 * an array's <value>, <array> and <data>), the envelope a few more.
 */
const ELEMENTS_PER_VALUE = 4;
const ENVELOPE_ELEMENTS = 8;

type XmlNode = Record<string, unknown>;

interface Element {
  name: string;
  children: XmlNode[];
}

function invalid(message: string): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, message, { faultCode: FAULT_INVALID_XMLRPC });
}

function resolveLimits(overrides?: Partial<XmlRpcLimits>): Readonly<XmlRpcLimits> {
  return { ...DEFAULT_XMLRPC_LIMITS, ...overrides };
}

function toText(input: Uint8Array | string, limits: Readonly<XmlRpcLimits>): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > limits.maxBytes) {
    throw new AtlasError(ErrorCodes.TOO_LARGE, `XML-RPC document of ${size} bytes exceeds ${limits.maxBytes}`, { faultCode: FAULT_INVALID_XMLRPC });
  }
  if (typeof input === 'string') return input;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(input);
  } catch {
    throw notWellFormed('document is not valid UTF-8');
  }
}

/** Longest part of the XML validator's message a fault repeats. */
const MAX_VALIDATOR_MESSAGE = 200;

/** Parses a whole document and returns its single root element, checked to be `rootName`. */
function parseRoot(input: Uint8Array | string, limits: Readonly<XmlRpcLimits>, rootName: string): Element {
  const text = toText(input, limits);
  const encoding = ENCODING.exec(text.slice(0, DECLARATION_WINDOW))?.[1]?.toLowerCase();
  if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'us-ascii') {
    throw notWellFormed(`unsupported encoding ${JSON.stringify(encoding)}; send UTF-8`);
  }
  // Markup declarations (DOCTYPE, ENTITY, ELEMENT...) are refused outright: XML-RPC has none,
  // and they are how entity-expansion attacks start. Comments and CDATA sections stay legal.
  if (/<!(?!--|\[CDATA\[)/.test(text)) throw notWellFormed('DOCTYPE and other markup declarations are not accepted');
  if (hasInvalidXmlChar(text)) throw notWellFormed('document holds a character XML 1.0 does not allow');
  const maxNestedTags = ENVELOPE_DEPTH + ELEMENTS_PER_LEVEL * (limits.maxDepth + 1);
  // Before the validator, whose work grows faster than the input with the depth of open tags, and
  // which spends far more on attributes than on text.
  // Counted here, not only once the tree is built: a body of tiny elements cost the parser 250 ms
  // a 512 KiB call, and one host sending a few a second held the event loop.
  const maxElements = ELEMENTS_PER_VALUE * limits.maxValues + ENVELOPE_ELEMENTS;
  const problem = tagProblem(text, maxNestedTags, maxElements);
  if (problem === 'too-deep') throw invalid(`nested deeper than ${limits.maxDepth} arrays or structs`);
  if (problem === 'too-many') throw invalid(`more than ${maxElements} elements (${ELEMENTS_PER_VALUE} for each of at most ${limits.maxValues} values)`);
  if (problem === 'attributes') throw notWellFormed('XML-RPC elements have no attributes');
  if (problem === 'cdata-end') throw notWellFormed("']]>' in character data (XML 1.0 allows it only to end a CDATA section; write ]]&gt;)");
  const verdict = XMLValidator.validate(text);
  // Its message can quote the document (every open tag's name): cut, like every message we send.
  if (verdict !== true) throw notWellFormed(`malformed XML: ${verdict.err.msg.slice(0, MAX_VALIDATOR_MESSAGE)} (line ${verdict.err.line})`);

  let tree: unknown;
  try {
    tree = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: true,
      processEntities: false,
      htmlEntities: false,
      parseTagValue: false,
      trimValues: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
      commentPropName: false,
      cdataPropName: CDATA,
      maxNestedTags,
    }).parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/nested tags/i.test(message)) throw invalid(`nested deeper than ${limits.maxDepth} arrays or structs`);
    // The parser refuses element names such as `constructor` and `__proto__` (its guard against
    // prototype pollution): well-formed XML, but no XML-RPC element, and its text is not ours to send.
    if (/reserved|invalid name/i.test(message)) throw invalid('an element name that XML-RPC does not have');
    throw notWellFormed(`malformed XML: ${message.slice(0, 200)}`);
  }
  if (!Array.isArray(tree)) throw notWellFormed('malformed XML');
  const roots = elementsOf(tree as XmlNode[], 'document');
  if (roots.length !== 1 || roots[0]?.name !== rootName) throw invalid(`expected one <${rootName}> element`);
  return roots[0];
}

function nameOf(node: XmlNode): string {
  for (const key of Object.keys(node)) if (key !== ATTRIBUTES) return key;
  return '';
}

/** The element children; whitespace between them is allowed, any other text is not. */
function elementsOf(children: XmlNode[], where: string): Element[] {
  const elements: Element[] = [];
  for (const node of children) {
    const name = nameOf(node);
    if (name === TEXT) {
      if (!XML_SPACE.test(String(node[TEXT]))) throw invalid(`unexpected text in <${where}>`);
    } else if (name === CDATA) {
      throw invalid(`unexpected CDATA in <${where}>`);
    } else {
      elements.push({ name, children: node[name] as XmlNode[] });
    }
  }
  return elements;
}

/** Character data of an element that must hold no element. */
function textOf(element: Element): string {
  let text = '';
  for (const node of element.children) {
    const name = nameOf(node);
    if (name === TEXT) text += decodeCharacterData(String(node[TEXT]));
    else if (name === CDATA) text += cdataText(node);
    else throw invalid(`<${element.name}> holds an element <${name}>`);
  }
  return text;
}

function cdataText(node: XmlNode): string {
  const parts = node[CDATA] as XmlNode[];
  return normalizeNewlines(parts.map((part) => String(part[TEXT] ?? '')).join(''));
}

function only(elements: Element[], name: string, where: string): Element {
  if (elements.length !== 1 || elements[0]?.name !== name) throw invalid(`<${where}> must hold exactly one <${name}>`);
  return elements[0];
}

class ValueReader {
  private values = 0;

  constructor(private readonly limits: Readonly<XmlRpcLimits>) {}

  /** Reads a <value> element. */
  read(value: Element, depth: number): XmlRpcValue {
    if (++this.values > this.limits.maxValues) throw invalid(`more than ${this.limits.maxValues} values`);
    let typed: Element | undefined;
    let text = '';
    for (const node of value.children) {
      const name = nameOf(node);
      if (name === TEXT) text += decodeCharacterData(String(node[TEXT]));
      else if (name === CDATA) text += cdataText(node);
      else if (typed === undefined) typed = { name, children: node[name] as XmlNode[] };
      else throw invalid('<value> holds more than one element');
    }
    if (typed === undefined) return text; // no type element: a string (XML-RPC spec)
    if (!XML_SPACE.test(text)) throw invalid(`<value> mixes text with <${typed.name}>`);
    return this.typed(typed, depth);
  }

  private typed(element: Element, depth: number): XmlRpcValue {
    switch (element.name) {
      case 'string':
        return textOf(element);
      case 'int':
      case 'i4':
        return integer(this.numberText(element), element.name, INT32_MIN, INT32_MAX);
      case 'i8':
        return integer(this.numberText(element), element.name, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      case 'boolean': {
        const text = this.numberText(element);
        if (text !== '0' && text !== '1') throw invalid('<boolean> must be 0 or 1');
        return text === '1';
      }
      case 'double': {
        const text = this.numberText(element);
        const number = DOUBLE.test(text) ? Number(text) : NaN;
        if (!Number.isFinite(number)) throw invalid(`<double> ${JSON.stringify(text.slice(0, 32))} is not a finite number`);
        return number === 0 ? 0 : number;
      }
      case 'base64': {
        const text = textOf(element).replace(/[ \t\r\n]+/g, '');
        if (!BASE64.test(text)) throw invalid('<base64> is not base64');
        return new Uint8Array(Buffer.from(text, 'base64'));
      }
      case 'nil':
        if (textOf(element) !== '') throw invalid('<nil> must be empty');
        return null;
      case 'array':
        return this.array(element, depth);
      case 'struct':
        return this.struct(element, depth);
      default:
        throw invalid(`unsupported value type <${element.name.slice(0, 32)}>`);
    }
  }

  /** The trimmed text of a number or boolean, refused when longer than maxNumberLength. */
  private numberText(element: Element): string {
    const text = textOf(element).trim();
    if (text.length > this.limits.maxNumberLength) throw invalid(`<${element.name}> longer than ${this.limits.maxNumberLength} characters`);
    return text;
  }

  private array(element: Element, depth: number): XmlRpcValue[] {
    if (depth >= this.limits.maxDepth) throw invalid(`nested deeper than ${this.limits.maxDepth} arrays or structs`);
    const data = only(elementsOf(element.children, 'array'), 'data', 'array');
    const items: XmlRpcValue[] = [];
    for (const item of elementsOf(data.children, 'data')) {
      if (item.name !== 'value') throw invalid(`<data> holds <${item.name}>`);
      items.push(this.read(item, depth + 1));
    }
    return items;
  }

  private struct(element: Element, depth: number): XmlRpcStruct {
    if (depth >= this.limits.maxDepth) throw invalid(`nested deeper than ${this.limits.maxDepth} arrays or structs`);
    const struct = Object.create(null) as XmlRpcStruct;
    for (const member of elementsOf(element.children, 'struct')) {
      if (member.name !== 'member') throw invalid(`<struct> holds <${member.name}>`);
      const parts = elementsOf(member.children, 'member');
      if (parts.length !== 2 || parts[0]?.name !== 'name' || parts[1]?.name !== 'value') {
        throw invalid('<member> must hold <name> then <value>');
      }
      const name = textOf(parts[0]);
      if (Object.prototype.hasOwnProperty.call(struct, name)) throw invalid(`struct member ${JSON.stringify(name.slice(0, 64))} given twice`);
      struct[name] = this.read(parts[1], depth + 1);
    }
    return struct;
  }
}

function integer(raw: string, type: string, min: number, max: number): number {
  const text = raw;
  if (!INTEGER.test(text)) throw invalid(`<${type}> ${JSON.stringify(text.slice(0, 32))} is not an integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`<${type}> ${text} is out of range [${min}, ${max}]`);
  }
  return value === 0 ? 0 : value;
}

/** Reads a <methodCall> document. */
export function parseMethodCall(input: Uint8Array | string, overrides?: Partial<XmlRpcLimits>): MethodCall {
  const limits = resolveLimits(overrides);
  const root = parseRoot(input, limits, 'methodCall');
  const parts = elementsOf(root.children, 'methodCall');
  const nameElement = parts[0];
  if (nameElement?.name !== 'methodName') throw invalid('<methodCall> must start with <methodName>');
  const methodName = textOf(nameElement).trim();
  if (methodName.length === 0 || methodName.length > limits.maxMethodNameLength || !METHOD_NAME.test(methodName)) {
    throw invalid(`not a method name: ${JSON.stringify(methodName.slice(0, 64))}`);
  }
  if (parts.length > 2 || (parts.length === 2 && parts[1]?.name !== 'params')) throw invalid('<methodCall> holds only <methodName> and <params>');
  const reader = new ValueReader(limits);
  const params: XmlRpcValue[] = [];
  for (const param of parts[1] === undefined ? [] : elementsOf(parts[1].children, 'params')) {
    if (param.name !== 'param') throw invalid(`<params> holds <${param.name}>`);
    params.push(reader.read(only(elementsOf(param.children, 'param'), 'value', 'param'), 0));
  }
  return { methodName, params };
}

/**
 * The largest response read by default: a reply is larger than any call (a get_zonefiles of 100
 * zone files of 40 KiB is 5.5 MB of XML), and 512 KiB refused the replies of our own server.
 */
const RESPONSE_MAX_BYTES = 8 * 1024 * 1024;

/** Reads a <methodResponse> document: one value, or a fault. Up to 8 MiB unless `overrides.maxBytes` says otherwise. */
export function parseMethodResponse(input: Uint8Array | string, overrides?: Partial<XmlRpcLimits>): MethodResponse {
  const limits = resolveLimits({ maxBytes: RESPONSE_MAX_BYTES, ...overrides });
  const root = parseRoot(input, limits, 'methodResponse');
  const body = elementsOf(root.children, 'methodResponse');
  const reader = new ValueReader(limits);
  if (body.length === 1 && body[0]?.name === 'fault') {
    const fault = reader.read(only(elementsOf(body[0].children, 'fault'), 'value', 'fault'), 0);
    const isStruct = typeof fault === 'object' && fault !== null && !Array.isArray(fault) && !(fault instanceof Uint8Array);
    const faultCode = isStruct ? fault.faultCode : undefined;
    const faultString = isStruct ? fault.faultString : undefined;
    if (typeof faultCode !== 'number' || typeof faultString !== 'string') throw invalid('<fault> must be a struct of faultCode and faultString');
    return { fault: { faultCode, faultString } };
  }
  const params = only(body, 'params', 'methodResponse');
  const param = only(elementsOf(params.children, 'params'), 'param', 'params');
  return { value: reader.read(only(elementsOf(param.children, 'param'), 'value', 'param'), 0) };
}
