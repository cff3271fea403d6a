// Loaded with `node --import`: appends the URL of each module the process loads to the file named
// by RECORD_IMPORTS_TO, one a line (what a test reads to see which modules a command loads).
// Where Node has synchronous hooks (module.registerHooks), those see require() too; on older
// Node the module.register hooks see ES modules and the CommonJS files they import directly,
// not what those files require().
import * as nodeModule from 'node:module';
import { appendFileSync } from 'node:fs';

const target = process.env.RECORD_IMPORTS_TO ?? '/dev/null';

if (typeof nodeModule.registerHooks === 'function') {
  nodeModule.registerHooks({
    load(url, context, nextLoad) {
      appendFileSync(target, url + '\n');
      return nextLoad(url, context);
    },
  });
} else {
  const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(target)}, url + '\\n');
  return next(url, context);
}`;
  nodeModule.register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
