/**
 * What every atlas command shares in reading what a user typed and in saying what was wrong. It
 * sits below both src/cli and src/sim: the CLI imports the simulator, so neither may hold it.
 */
import { replaceControlCharacters } from './errors.js';

/** `text` as one line safe to show: each line break and the space around it one space, every other control character '?'. */
export function oneLine(text: string): string {
  return replaceControlCharacters(text.replace(/\s*\n\s*/g, ' ').trim());
}

/** A whole number read from an option's text, or what the text should have been. */
export type WholeNumberReading = { value: number } | { problem: string };

/**
 * `text` as a whole number from `min` to `max`, in decimal digits only (no sign, fraction or
 * exponent); otherwise the problem, said the same way by every command:
 * `a whole number from 1 to 10000, got "x"`.
 */
export function readWholeNumber(text: string, min: number, max: number): WholeNumberReading {
  const n = Number(text);
  if (/^\d+$/.test(text.trim()) && Number.isSafeInteger(n) && n >= min && n <= max) return { value: n };
  // A long value is cut, and says so.
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return { problem: `a whole number from ${min} to ${describeBound(max)}, got ${JSON.stringify(shown)}` };
}

function describeBound(n: number): string {
  return n === Number.MAX_SAFE_INTEGER ? '2^53 - 1' : String(n);
}
