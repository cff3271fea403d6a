// Where the running node's own headers are, for node-gyp. The hash addon calls the OpenSSL inside
// the node binary, so it must compile against the headers of that very node; most installs ship
// them beside the binary (<prefix>/include/node, OpenSSL's included). Using them also spares
// node-gyp a download of the headers, which fails offline. An explicit nodedir still wins.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The prefix to pass as node-gyp's nodedir, or undefined to let node-gyp decide. */
export function localNodedir() {
  if (process.env.npm_config_nodedir) return undefined;
  const prefix = join(dirname(process.execPath), '..');
  const headers = join(prefix, 'include', 'node');
  return existsSync(join(headers, 'node_api.h')) && existsSync(join(headers, 'openssl', 'sha.h')) ? prefix : undefined;
}
