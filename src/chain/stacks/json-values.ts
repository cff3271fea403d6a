/**
 * Counting the values of a JSON text before it is parsed. Parsed, a body of tiny values takes
 * many times its bytes: 64 MiB of `[{},{},...]` became 1.6 GB of heap and held the event loop for
 * 37 s in JSON.parse. A real stacks-node delivery is mostly long hex strings, a value every few
 * dozen bytes; the observer refuses a body with more values than its bound before parsing it.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/**
 * The values in `text` (objects, arrays and the items and members they hold, counted by their
 * separators: each `{`, `[` and `,` outside strings, plus one), or `max + 1` as soon as there are
 * more than `max`. Strings are skipped with indexOf, not byte by byte: a body of hex strings is
 * scanned at memory speed. Malformed JSON gets a count too; JSON.parse refuses it afterwards.
 */
export function countJsonValues(text: Uint8Array, max: number): number {
  let count = 1;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const byte = text[i] as number;
    if (byte === QUOTE) {
      i = stringEnd(text, i + 1);
    } else if (byte === COMMA || byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++count > max) return max + 1;
    }
  }
  return count;
}

/** Where the string whose text starts at `from` ends (its closing quote), or the text's length when it does not. */
function stringEnd(text: Uint8Array, from: number): number {
  for (let at = from; ; at++) {
    at = text.indexOf(QUOTE, at);
    if (at < 0) return text.length;
    // Escaped when an odd number of backslashes stand before it.
    let backslashes = 0;
    while (at - 1 - backslashes >= from && text[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}
