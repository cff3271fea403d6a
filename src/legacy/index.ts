/**
 * Wire compatibility with the original Atlas API (XML-RPC and REST) and Stacks 2.x attachment
 * routes, as a translation layer over the node's own protocol methods: `legacyRoutes()` makes the
 * routes its builder mounts into HttpTransport (`routes` option); see README "Legacy API".
 */
import type { HttpRoute } from '../transport/http.js';
import { attachmentRoute, attachmentsInventoryRoute } from './attachments.js';
import { resolveLegacyConfig, type LegacyOptions } from './options.js';
import { corsPreflightRoute, getZonefileRoute, postZonefileRoute } from './rest.js';
import { xmlRpcRoute } from './rpc.js';

/** The routes these legacy options ask for (none when they are false or absent). */
export function legacyRoutes(options: boolean | LegacyOptions | undefined): HttpRoute[] {
  const config = resolveLegacyConfig(options);
  if (config === undefined) return [];
  const routes: HttpRoute[] = [];
  if (config.rpc) routes.push(xmlRpcRoute(config));
  if (config.rest) routes.push(getZonefileRoute(), postZonefileRoute(config));
  if (config.attachments) routes.push(attachmentsInventoryRoute(config), attachmentRoute());
  if (config.rest || config.attachments) routes.push(corsPreflightRoute(config.rest, config.attachments));
  return routes;
}

export { ATTACHMENT_PAGE_SLOTS, DEFAULT_LEGACY_CONFIG, resolveLegacyConfig, type LegacyConfig, type LegacyOptions } from './options.js';
export { LEGACY_METHODS, type LegacyMethod } from './methods.js';
export type { LegacyDocument } from './envelope.js';
export type { NodeAccess } from './node-calls.js';
export { answerXmlRpc } from './rpc.js';
export { parseMethodCall, parseMethodResponse } from './xmlrpc-decode.js';
export { serializeFault, serializeMethodCall, serializeMethodResponse, serializeValue } from './xmlrpc-encode.js';
export {
  DEFAULT_XMLRPC_LIMITS,
  FAULT_INTERNAL,
  FAULT_INVALID_PARAMS,
  FAULT_INVALID_XMLRPC,
  FAULT_METHOD_NOT_FOUND,
  FAULT_NOT_WELL_FORMED,
  type MethodCall,
  type MethodResponse,
  type XmlRpcLimits,
  type XmlRpcStruct,
  type XmlRpcValue,
} from './xmlrpc-value.js';
