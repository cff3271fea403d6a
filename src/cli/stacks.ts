/**
 * What `atlas node --stacks-observer / --stacks-node / --mirror` add: the Stacks observer as the
 * chain (instead of a DevChain), the chunk sources, and the read-only name routes.
 */
import { join } from 'node:path';
import { namesRoutes } from '../bns/routes.js';
import { MAINNET_BNS_CONTRACT, TESTNET_BNS_CONTRACT } from '../chain/stacks/payloads.js';
import { StacksObserverChain } from '../chain/stacks/observer-chain.js';
import { allowedHostList } from '../chain/stacks/observer-http.js';
import type { AtlasNode } from '../node/atlas-node.js';
import type { Logger } from '../runtime.js';
import { mirrorSource, stacksNodeSource } from '../sync/sources/http-sources.js';
import { attachmentSource } from '../sync/sources/local-sources.js';
import { missingRoute } from '../sync/sources/missing-route.js';
import type { ChunkSource } from '../sync/sources/types.js';
import type { HttpRoute } from '../transport/http.js';
import { parseListen } from './args.js';
import { CliError, EXIT_USAGE } from './errors.js';

/** `atlas node`'s Stacks flags. */
export interface StacksCliOptions {
  stacksObserver?: string;
  stacksNode?: string[];
  mirror?: string[];
  stacksObserverAllow?: string[];
}

/** `atlas node`'s DevChain flags, which --stacks-observer replaces (undefined: not given). */
export interface DevChainCliOptions {
  chain?: string;
  chainPoll?: number;
}

const OBSERVER_FLAG = '--stacks-observer <host:port>';

/**
 * The Stacks flags checked before anything is opened or created: a bad value is a usage error
 * (exit 2) naming its flag, as every other flag's is, and so is a flag the others make pointless
 * (a DevChain flag beside --stacks-observer, --stacks-observer-allow without it), which would
 * otherwise be dropped without a word. `listen` is the node's own address, which the observer
 * may not share. Building a --stacks-node or --mirror source is what checks its value, so the
 * sources built here are returned, for chunkSources, rather than built again.
 */
export function checkStacksOptions(options: StacksCliOptions & DevChainCliOptions, listen: string): ChunkSource[] {
  if (options.stacksObserver !== undefined) {
    try {
      parseListen(options.stacksObserver);
    } catch (error) {
      throw flagError(OBSERVER_FLAG, error);
    }
    // Port 0 picks a free port, for each of them.
    if (options.stacksObserver === listen && !listen.endsWith(':0')) throw new CliError(`option '${OBSERVER_FLAG}': ${listen} is the node's own listen address; the observer needs a port of its own`, EXIT_USAGE);
  }
  eachOf('--stacks-observer-allow <ip>', options.stacksObserverAllow, (entry) => allowedHostList([entry]));
  const sources = [...eachOf('--stacks-node <url>', options.stacksNode, stacksNodeSource), ...eachOf('--mirror <url-template>', options.mirror, mirrorSource)];
  checkCombination(options);
  return sources;
}

/** Flags that mean nothing beside the others given: a usage error naming both, not dropped without a word. */
function checkCombination(options: StacksCliOptions & DevChainCliOptions): void {
  if (options.stacksObserver !== undefined) {
    const devChainFlag = options.chain !== undefined ? '-c, --chain <file>' : options.chainPoll !== undefined ? '--chain-poll <seconds>' : undefined;
    if (devChainFlag !== undefined) throw new CliError(`option '${devChainFlag}' cannot be used with option '${OBSERVER_FLAG}' (the observer replaces the DevChain file)`, EXIT_USAGE);
  } else if (options.stacksObserverAllow !== undefined) {
    throw new CliError(`option '--stacks-observer-allow <ip>' needs option '${OBSERVER_FLAG}' (it names who besides this machine may post to the observer)`, EXIT_USAGE);
  }
}

/** `make` applied to each value given for `flag`; the first it refuses is a usage error naming the flag. */
function eachOf<T>(flag: string, values: readonly string[] | undefined, make: (value: string) => T): T[] {
  return (values ?? []).map((value) => {
    try {
      return make(value);
    } catch (error) {
      throw flagError(flag, error);
    }
  });
}

function flagError(flag: string, error: unknown): CliError {
  return new CliError(`option '${flag}': ${(error as Error).message}`, EXIT_USAGE, { cause: error });
}

/** The observer chain when --stacks-observer is given (its journal in <data-dir>/stacks). */
export async function openObserver(options: StacksCliOptions, dataDir: string, network: string, logger: Logger): Promise<StacksObserverChain | undefined> {
  if (options.stacksObserver === undefined) return undefined;
  const contracts = [network === 'testnet' ? TESTNET_BNS_CONTRACT : MAINNET_BNS_CONTRACT];
  const chain = await StacksObserverChain.open({ dir: join(dataDir, 'stacks'), listen: options.stacksObserver, contracts, logger, allowedHosts: options.stacksObserverAllow ?? [] });
  logger.info('stacks event observer listening', { address: chain.address, contracts });
  return chain;
}

/** The node's chunk sources: the observer's first, then `flagSources` (from checkStacksOptions). */
export function chunkSources(flagSources: readonly ChunkSource[], observer: StacksObserverChain | undefined): ChunkSource[] {
  return [...(observer ? [attachmentSource(observer)] : []), ...flagSources];
}

/** /v1/names/... and /v1/atlas/missing, served once the node is open. */
export function nodeRoutes(node: () => AtlasNode | undefined): HttpRoute[] {
  return [...namesRoutes(node), missingRoute(node)];
}
