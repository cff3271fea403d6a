/**
 * Character-level XML helpers for the XML-RPC codec. The parser runs with entity processing off
 * (no DOCTYPE, no declared entities, so no entity-expansion attacks); this module decodes the only
 * references XML-RPC text needs: the five predefined entities and numeric character references.
 * Anything else (`&name;` for any other name) is refused.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { FAULT_NOT_WELL_FORMED } from './xmlrpc-value.js';

/** Characters XML 1.0 allows anywhere: tab, LF, CR, and the usual ranges without surrogates. */
const INVALID_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const REFERENCE = /&([^;&<>\s]{0,16});/g;
const PREDEFINED: Readonly<Record<string, string>> = Object.freeze({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" });

/** The error for a document that is not well-formed XML: BAD_REQUEST, XML-RPC fault -32700 (FAULT_NOT_WELL_FORMED). */
export function notWellFormed(message: string): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, message, { faultCode: FAULT_NOT_WELL_FORMED });
}

/** True when `text` holds a character XML 1.0 allows nowhere (a control character, a lone surrogate, U+FFFE/U+FFFF). */
export function hasInvalidXmlChar(text: string): boolean {
  return INVALID_XML_CHAR.test(text);
}

function isXmlCodePoint(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** XML end-of-line handling: CR LF and lone CR read as LF (as any conforming parser does). */
export function normalizeNewlines(raw: string): string {
  return raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
}

/** Decodes parsed character data: newlines normalised, then references resolved. */
export function decodeCharacterData(raw: string): string {
  const text = normalizeNewlines(raw);
  if (!text.includes('&')) return text;
  const decoded = text.replace(REFERENCE, (_match, name: string) => {
    if (name.startsWith('#')) {
      const hex = name[1] === 'x';
      const digits = name.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) throw notWellFormed(`malformed character reference &${name};`);
      const cp = Number.parseInt(digits, hex ? 16 : 10);
      if (!isXmlCodePoint(cp)) throw notWellFormed(`character reference &${name}; is not an XML character`);
      return String.fromCodePoint(cp);
    }
    const value = Object.prototype.hasOwnProperty.call(PREDEFINED, name) ? PREDEFINED[name] : undefined;
    if (value === undefined) throw notWellFormed(`undefined entity &${name.slice(0, 16)}; (only the predefined XML entities are accepted)`);
    return value;
  });
  // Every '&' must have been part of a reference: a stray one is not well-formed.
  if (/&/.test(text.replace(REFERENCE, ''))) throw notWellFormed("stray '&' in character data");
  return decoded;
}

/**
 * Escapes text for element content. CR is written as a reference so that it survives the reader's
 * end-of-line normalisation. Throws when the text holds a character XML cannot carry at all.
 */
export function escapeXmlText(text: string): string {
  if (hasInvalidXmlChar(text)) {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, 'string holds a character XML 1.0 cannot carry (a control character or a lone surrogate)');
  }
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/**
 * What a linear pass over a document's tags finds wrong before a full parser spends time on it
 * (comments, CDATA sections, processing instructions and declarations skipped; nothing built),
 * stopping at the first: an element nested deeper than `limit` ('too-deep'), more than
 * `maxElements` elements ('too-many': the parser builds a node for each, about 0.5 µs apiece,
 * before any count of values could refuse them), or an attribute
 * other than a namespace declaration, or more than MAX_NAMESPACE_DECLARATIONS of those
 * ('attributes': XML-RPC has none; some clients declare a namespace on the root, which is
 * harmless), or a literal ']]>' in character data ('cdata-end': XML 1.0 §2.4 forbids it there, it
 * only ends a CDATA section; the validator lets it through). Quoted values are read as such, so a
 * '>' or '/>' inside one ends no tag. Undefined when none.
 */
export function tagProblem(text: string, limit: number, maxElements = Infinity): 'too-deep' | 'too-many' | 'attributes' | 'cdata-end' | undefined {
  let depth = 0;
  let elements = 0;
  let declarations = 0;
  // Character data runs from `from` (the end of the last markup) to the next '<'. The next ']]>'
  // at or after `from` is searched again only once markup has passed it, so the pass stays linear.
  let from = 0;
  let cdataEnd = text.indexOf(CDATA_END);
  let at = text.indexOf('<');
  for (;;) {
    if (cdataEnd !== -1 && cdataEnd < from) cdataEnd = text.indexOf(CDATA_END, from);
    if (cdataEnd !== -1 && (at === -1 || cdataEnd < at)) return 'cdata-end';
    if (at === -1) return undefined;
    const next = text[at + 1];
    let end: number;
    if (text.startsWith('<!--', at)) end = closeOf(text, '-->', at + 4);
    else if (text.startsWith('<![CDATA[', at)) end = closeOf(text, CDATA_END, at + 9);
    else if (next === '?') end = closeOf(text, '?>', at + 2);
    else {
      const tag = readTag(text, next === '/' ? at + 2 : at + 1);
      if (tag.otherAttribute || (declarations += tag.declarations) > MAX_NAMESPACE_DECLARATIONS) return 'attributes';
      end = tag.end;
      if (next === '/') depth--;
      else if (next !== '!') {
        if (++elements > maxElements) return 'too-many';
        if (!tag.selfClosing) depth++;
      }
      if (depth > limit) return 'too-deep';
    }
    if (end === -1) return undefined;
    from = end;
    at = text.indexOf('<', end);
  }
}

/** Ends a CDATA section; anywhere else in character data it is not well-formed. */
const CDATA_END = ']]>';

/** Namespace declarations (xmlns, xmlns:prefix) taken in one document. */
const MAX_NAMESPACE_DECLARATIONS = 16;

/** A tag with an attribute that is not a namespace declaration: the document is refused at it. */
const REFUSED: TagScan = Object.freeze({ end: -1, selfClosing: false, declarations: 0, otherAttribute: true });

interface TagScan {
  /** Just past its closing '>', or -1 when the text ends first. */
  end: number;
  selfClosing: boolean;
  declarations: number;
  otherAttribute: boolean;
}

/**
 * One tag from just after its '<': its name, then attributes (name, '=', a quoted value) up to its
 * '>' or '/>'. Anything else there (a bare name, as in `<a b c>`, a value without quotes) counts
 * as an attribute that is not a namespace declaration: the document is refused, as the validator
 * would, but before it spends time on it.
 */
function readTag(text: string, from: number): TagScan {
  let i = skipName(text, from);
  let declarations = 0;
  for (;;) {
    i = skipSpace(text, i);
    if (i >= text.length) return { end: -1, selfClosing: false, declarations, otherAttribute: false };
    const c = text.charCodeAt(i);
    if (c === GREATER) return { end: i + 1, selfClosing: false, declarations, otherAttribute: false };
    if (c === SLASH && text.charCodeAt(i + 1) === GREATER) return { end: i + 2, selfClosing: true, declarations, otherAttribute: false };
    const nameEnd = skipName(text, i);
    if (nameEnd === i || !isNamespaceDeclaration(text.slice(i, nameEnd))) return REFUSED;
    i = skipSpace(text, nameEnd);
    if (text.charCodeAt(i) !== EQUALS) return REFUSED;
    i = skipSpace(text, i + 1);
    const quote = text.charCodeAt(i);
    if (quote !== QUOTE && quote !== APOSTROPHE) return REFUSED;
    const close = text.indexOf(text[i] as string, i + 1);
    if (close === -1) return { end: -1, selfClosing: false, declarations, otherAttribute: false };
    declarations++;
    i = close + 1;
  }
}

/** Just past the name (of an element or attribute) starting at `from`: up to whitespace, '=', '>', '/' or a quote. */
function skipName(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === SPACE || c === TAB || c === LF || c === CR || c === EQUALS || c === GREATER || c === SLASH || c === QUOTE || c === APOSTROPHE) break;
    i++;
  }
  return i;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB && c !== LF && c !== CR) break;
    i++;
  }
  return i;
}

function isNamespaceDeclaration(name: string): boolean {
  return name === 'xmlns' || name.startsWith('xmlns:');
}

const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const GREATER = 0x3e;
const SLASH = 0x2f;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

/** The index just past the next `close` from `from`, or -1. */
function closeOf(text: string, close: string, from: number): number {
  const found = text.indexOf(close, from);
  return found === -1 ? -1 : found + close.length;
}
