/**
 * The legacy XML-RPC endpoint: one call in, one reply out. The reply is always an XML-RPC
 * document (HTTP 200): a fault when the call itself is malformed (not XML, not XML-RPC, unknown
 * method, wrong number of arguments), else one string holding the JSON envelope, refusals included.
 */
import type { HttpRoute } from '../transport/http.js';
import { isAtlasError } from '../errors.js';
import { foreignOrigin, hasContentCoding, isXmlContentType, send, sendText } from './http-io.js';
import { legacyMethod, runLegacyMethod } from './methods.js';
import type { NodeAccess } from './node-calls.js';
import type { LegacyConfig } from './options.js';
import { parseMethodCall } from './xmlrpc-decode.js';
import { serializeFault, serializeMethodResponse } from './xmlrpc-encode.js';
import { FAULT_INTERNAL, FAULT_INVALID_PARAMS, FAULT_INVALID_XMLRPC, FAULT_METHOD_NOT_FOUND } from './xmlrpc-value.js';

/** Longest fault string sent, as the wire's error messages are cut (a message may quote the request). */
const MAX_FAULT_STRING = 500;

function faultFor(error: unknown): string {
  if (isAtlasError(error)) {
    const code = error.details?.faultCode;
    return serializeFault(typeof code === 'number' ? code : FAULT_INVALID_XMLRPC, error.message.slice(0, MAX_FAULT_STRING));
  }
  return serializeFault(FAULT_INTERNAL, 'internal error');
}

/** Answers one XML-RPC request body with an XML-RPC reply document. */
export async function answerXmlRpc(body: Uint8Array | string, access: NodeAccess, config: Readonly<LegacyConfig>): Promise<string> {
  let call;
  try {
    call = parseMethodCall(body, { ...config.xmlrpc, maxBytes: config.maxRequestBytes });
  } catch (error) {
    return faultFor(error);
  }
  const method = legacyMethod(call.methodName);
  if (method === undefined) return serializeFault(FAULT_METHOD_NOT_FOUND, `method "${call.methodName}" is not supported`);
  if (call.params.length !== method.arity) {
    return serializeFault(FAULT_INVALID_PARAMS, `${call.methodName} takes ${method.arity} argument${method.arity === 1 ? '' : 's'}, got ${call.params.length}`);
  }
  const document = await runLegacyMethod(method, call.params, access, config);
  return serializeMethodResponse(JSON.stringify(document));
}

export function xmlRpcRoute(config: Readonly<LegacyConfig>): HttpRoute {
  const paths = new Set(config.rpcPaths);
  return {
    method: 'POST',
    match: (pathname) => paths.has(pathname),
    maxBodyBytes: config.maxRequestBytes,
    async handle(req, res, context) {
      if (hasContentCoding(req)) {
        // A compressed body would defeat the size bound; the original refused it too.
        sendText(res, 415, 'content codings (gzip...) are not accepted; send the body uncompressed\n');
        return;
      }
      // A browser can send text/plain to any origin without asking first, and some servers (ours
      // included) would read it as XML: only an XML content type is taken, and only from the
      // node's own origin or one the host allowed, so a web page cannot drive a local node.
      if (!isXmlContentType(req.headers['content-type'])) {
        sendText(res, 415, 'XML-RPC calls must be sent as text/xml or application/xml\n');
        return;
      }
      if (foreignOrigin(req, config.rpcAllowedOrigins)) {
        sendText(res, 403, 'XML-RPC calls from this origin are not accepted\n');
        return;
      }
      const body = await context.readBody();
      const reply = await answerXmlRpc(body, { service: context.service, remote: context.remote, caller: context.caller, signal: context.signal, ...(context.admitted === true ? { admitted: true } : {}) }, config);
      send(res, 200, 'text/xml; charset=utf-8', reply, { 'cache-control': 'no-store' });
    },
  };
}
