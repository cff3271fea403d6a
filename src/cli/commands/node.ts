/** `atlas node`: runs one node until SIGINT or SIGTERM, then closes it cleanly (actions/node.ts). */
import type { Command } from 'commander';
import type { NodeCommandOptions } from '../actions/node.js';
import { collectPeer, collectString, intParser, parseChunkStorage, parseListen, parseLogLevel, parseNetwork, parsePeer, secondsParser } from '../args.js';
import { DEFAULT_NODE } from '../remote.js';

export const DEFAULT_DATA_DIR = './atlas-data';
export const DEFAULT_LISTEN = DEFAULT_NODE;

export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run one node until interrupted (SIGINT/SIGTERM close it cleanly)')
    .option('-d, --data-dir <dir>', 'node folder: the LMDB store goes in <dir>/store', DEFAULT_DATA_DIR)
    .option('--chunk-storage <layout>', "where a new store keeps chunk bytes: log (an append-only file, the default) or lmdb", parseChunkStorage)
    .option('--sequence-cache-mb <mb>', "memory (MiB) holding the sequence's addresses in 80 KiB pages read whole on first use (default 32; 0: read each from LMDB)", intParser(0, 1_048_576))
    .option('--chunk-cache-mb <mb>', 'memory (MiB) keeping chunks read again and again at random places from the chunk log, so they cost no read call (default 8; 0: none)', intParser(0, 1_048_576))
    .option('-l, --listen <host:port>', 'address to listen on (port 0 picks a free one)', parseListen, DEFAULT_LISTEN)
    .option('--advertise <host:port>', 'address other peers should use (default: the listen address)', parsePeer)
    .option('-s, --seed <host:port>', 'a peer to start from (repeatable)', collectPeer)
    .option('-n, --network <id>', 'network id; peers of another network are refused', parseNetwork, 'mainnet')
    .option('-c, --chain <file>', 'DevChain file the announcements come from (default: <data-dir>/chain.jsonl)')
    .option('--chain-poll <seconds>', 'how often the chain file is re-read for new announcements (default 1)', secondsParser(3600))
    .option('--refresh <seconds>', "how often each neighbour's inventory is re-read (default 15)", secondsParser(86_400))
    .option('--neighbors <k>', 'active neighbours to keep', intParser(1, 64))
    .option('--allow-local', 'dial loopback and private addresses (on by default when listening on one)')
    .option('--metrics', 'serve Prometheus metrics at GET /metrics (needs the optional package prom-client)')
    .option('--legacy', 'also answer the original Atlas XML-RPC (/RPC2), /v1 REST and Stacks /v2/attachments routes')
    .option('--stacks-observer <host:port>', 'follow a stacks-node: listen there for its [[events_observer]] (instead of a DevChain file)')
    .option('--stacks-observer-allow <ip>', 'an IP address or CIDR range besides this machine that may post to the observer, e.g. a stacks-node on another host (repeatable)', collectString)
    .option('--stacks-node <url>', 'a Stacks node to fetch missing zone files from, GET /v2/attachments/<hash> (repeatable)', collectString)
    .option('--mirror <url-template>', 'a mirror serving zone files, e.g. https://host/v1/zonefiles/{hash} (repeatable)', collectString)
    .option('--log-level <level>', 'debug, info, warn, error or silent', parseLogLevel, 'info')
    .option('--json', 'write logs as JSON lines')
    .action(async (options: NodeCommandOptions) => (await import('../actions/node.js')).runNode(options));
}
