/**
 * Options of the legacy wire API (`legacyRoutes(true | LegacyOptions)`, mounted into HttpTransport). Every limit a
 * remote caller can reach is here, named; defaults are the original network's numbers.
 */
import { numberRule, overlayChecked, type OverlayRules } from '../options-overlay.js';
import { DEFAULT_XMLRPC_LIMITS, type XmlRpcLimits } from './xmlrpc-value.js';

/** The legacy API's settings, resolved (see LegacyOptions for what a host passes). */
export interface LegacyConfig {
  /** Serve XML-RPC (POST) on `rpcPaths`. Default true. */
  rpc: boolean;
  /** Paths of the XML-RPC endpoint. Default '/RPC2' and '/', like Python's SimpleXMLRPCServer. */
  rpcPaths: readonly string[];
  /** Serve GET /v1/zonefiles/<address> and POST /v1/zonefile. Default true. */
  rest: boolean;
  /** Serve GET /v2/attachments/<address> and GET /v2/attachments/inv. Default true. */
  attachments: boolean;
  /** Largest request body (an XML-RPC call, a POST /v1/zonefile); 413 beyond. Original: 512 KiB. */
  maxRequestBytes: number;
  /** Addresses per get_zonefiles. Original: 100. */
  maxGetZonefiles: number;
  /** Zone files per put_zonefiles. Original: 5. */
  maxPutZonefiles: number;
  /** Largest zone file accepted by put_zonefiles and POST /v1/zonefile. Original: 40,960. */
  maxZonefileBytes: number;
  /** Inventory bytes per get_zonefile_inventory. Original: 524,288. */
  maxInventoryBytes: number;
  /** Pages per GET /v2/attachments/inv. Stacks: 8. */
  maxAttachmentInvPages: number;
  /** Bounds of the XML-RPC reader (depth, values, method name); its maxBytes is maxRequestBytes. */
  xmlrpc: Omit<XmlRpcLimits, 'maxBytes'>;
  /**
   * Origins (e.g. "https://wallet.example") whose browser pages may call the XML-RPC endpoint;
   * '*' for any. A call carrying another Origin than the node's own is refused with 403, so a web
   * page cannot make a visitor's browser drive a local node. Default none.
   */
  rpcAllowedOrigins: readonly string[];
  /** Reported as `version` (ping) and `server_version` (getinfo). */
  serverVersion: string;
  /** Network id used when asking the node for its state; default: the node's own, from its status. */
  network: string | undefined;
}

/** What HttpTransport's `legacy` option takes: any subset of LegacyConfig. */
export type LegacyOptions = Partial<Omit<LegacyConfig, 'xmlrpc'>> & { xmlrpc?: Partial<LegacyConfig['xmlrpc']> };

/** Defaults of the legacy Atlas / Stacks 2.x API (see the README's legacy section). */
export const DEFAULT_LEGACY_CONFIG: Readonly<LegacyConfig> = Object.freeze({
  rpc: true,
  rpcPaths: Object.freeze(['/RPC2', '/']),
  rest: true,
  attachments: true,
  maxRequestBytes: 512 * 1024,
  maxGetZonefiles: 100,
  maxPutZonefiles: 5,
  maxZonefileBytes: 40_960,
  maxInventoryBytes: 524_288,
  maxAttachmentInvPages: 8,
  xmlrpc: Object.freeze({
    maxDepth: DEFAULT_XMLRPC_LIMITS.maxDepth,
    maxValues: DEFAULT_XMLRPC_LIMITS.maxValues,
    maxMethodNameLength: DEFAULT_XMLRPC_LIMITS.maxMethodNameLength,
    maxNumberLength: DEFAULT_XMLRPC_LIMITS.maxNumberLength,
  }),
  rpcAllowedOrigins: Object.freeze([]),
  serverVersion: 'atlasnet',
  network: undefined,
});

/** Slots per page of GET /v2/attachments/inv: a Stacks wire constant, not a setting. */
export const ATTACHMENT_PAGE_SLOTS = 64;

/** What each legacy option must be: the limits positive integers, the lists and text of their kinds. */
const LEGACY_RULES: OverlayRules = {
  numbers: numberRule({ positiveIntegers: ['maxRequestBytes', 'maxGetZonefiles', 'maxPutZonefiles', 'maxZonefileBytes', 'maxInventoryBytes', 'maxAttachmentInvPages', 'xmlrpc.maxDepth', 'xmlrpc.maxValues', 'xmlrpc.maxMethodNameLength', 'xmlrpc.maxNumberLength'] }),
  checks: {
    rpcPaths: (value) => (Array.isArray(value) && value.every((path) => typeof path === 'string' && /^\/[A-Za-z0-9._~/-]*$/.test(path)) ? undefined : 'a list of paths ("/RPC2")'),
    rpcAllowedOrigins: (value) => (Array.isArray(value) && value.every((origin) => typeof origin === 'string') ? undefined : 'a list of origins ("https://host" or "*")'),
    serverVersion: (value) => (typeof value === 'string' ? undefined : 'a string'),
    network: (value) => (value === undefined || (typeof value === 'string' && value.length > 0) ? undefined : 'a network id'),
  },
};

/** undefined when the legacy API is off (false or absent); INVALID_OPTION (`legacy.<name>`) for a bad or unknown setting. */
export function resolveLegacyConfig(input: boolean | LegacyOptions | undefined): Readonly<LegacyConfig> | undefined {
  if (input === undefined || input === false) return undefined;
  return overlayChecked('legacy', DEFAULT_LEGACY_CONFIG, input === true ? {} : input, LEGACY_RULES);
}
