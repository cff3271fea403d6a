/**
 * What `atlas node --stacks-observer / --stacks-node / --mirror` add: the Stacks observer as the
 * chain (instead of a DevChain), the chunk sources, and the read-only name routes.
 */
import { join } from 'node:path';
import { namesRoutes } from '../bns/routes.js';
import { MAINNET_BNS_CONTRACT, TESTNET_BNS_CONTRACT } from '../chain/stacks/payloads.js';
import { StacksObserverChain } from '../chain/stacks/observer-chain.js';
import type { AtlasNode } from '../node/atlas-node.js';
import type { Logger } from '../runtime.js';
import { mirrorSource, stacksNodeSource } from '../sync/sources/http-sources.js';
import { attachmentSource } from '../sync/sources/local-sources.js';
import { missingRoute } from '../sync/sources/missing-route.js';
import type { ChunkSource } from '../sync/sources/types.js';
import type { HttpRoute } from '../transport/http.js';

export interface StacksCliOptions {
  stacksObserver?: string;
  stacksNode?: string[];
  mirror?: string[];
  stacksObserverAllow?: string[];
}

/** The observer chain when --stacks-observer is given (its journal in <data-dir>/stacks). */
export async function openObserver(options: StacksCliOptions, dataDir: string, network: string, logger: Logger): Promise<StacksObserverChain | undefined> {
  if (options.stacksObserver === undefined) return undefined;
  const contracts = [network === 'testnet' ? TESTNET_BNS_CONTRACT : MAINNET_BNS_CONTRACT];
  const chain = await StacksObserverChain.open({ dir: join(dataDir, 'stacks'), listen: options.stacksObserver, contracts, logger, allowedHosts: options.stacksObserverAllow ?? [] });
  logger.info('stacks event observer listening', { address: chain.address, contracts });
  return chain;
}

/** The chunk sources the flags name, the observer's first. */
export function chunkSources(options: StacksCliOptions, observer: StacksObserverChain | undefined): ChunkSource[] {
  return [
    ...(observer ? [attachmentSource(observer)] : []),
    ...(options.stacksNode ?? []).map((url) => stacksNodeSource(url)),
    ...(options.mirror ?? []).map((template) => mirrorSource(template)),
  ];
}

/** /v1/names/... and /v1/atlas/missing, served once the node is open. */
export function nodeRoutes(node: () => AtlasNode | undefined): HttpRoute[] {
  return [...namesRoutes(node), missingRoute(node)];
}
