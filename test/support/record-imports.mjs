// Loaded with `node --import`: appends the URL of every module the process loads to the file
// named by RECORD_IMPORTS_TO, one a line (what a test reads to see which modules a command loads).
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(process.env.RECORD_IMPORTS_TO ?? '/dev/null')}, url + '\\n');
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
