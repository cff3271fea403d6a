/**
 * `atlas inspect [-p <peer>]...`: fetches the inventories of running nodes and shows, per node, the
 * present and missing counts, and per pair of nodes what one holds that the other lacks.
 */
import type { Command } from 'commander';
import type { ProtocolClient } from '../../protocol/client.js';
import { parsePeer, secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { compareInventories, type NodeInventory } from '../inventories.js';
import { formatCount, formatTable, writeJson, writeLine } from '../output.js';
import { DEFAULT_NODE, DEFAULT_REMOTE_TIMEOUT_S, peerError, peersOption, withRemote } from '../remote.js';

/** Largest inventory read from one node: 2^29 positions, far beyond any real chain. */
const MAX_INVENTORY_BYTES = 64 * 1024 * 1024;

interface InspectOptions {
  peer?: string[];
  json?: boolean;
  timeout: number;
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('compare the inventories of running nodes: present and missing counts, pairwise differences')
    .argument('[peer...]', 'nodes to inspect, host:port (same as --peer)', (value: string, previous: string[] | undefined) => [...(previous ?? []), parsePeer(value)])
    .addOption(peersOption(`a node to inspect (repeatable; default ${DEFAULT_NODE})`))
    .option('--json', 'print JSON: { nodes, pairs, missingEverywhere, unreachable }')
    .option('-t, --timeout <seconds>', 'deadline of each call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .action(async (positional: string[] | undefined, options: InspectOptions) => {
      const named = [...(positional ?? []), ...(options.peer ?? [])];
      const unique = [...new Set(named.length > 0 ? named : [DEFAULT_NODE])];
      const { inventories, failures } = await withRemote(options.timeout, async ({ client }) => {
        const settled = await Promise.allSettled(unique.map((peer) => fetchInventory(client, peer)));
        return {
          inventories: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
          failures: settled.flatMap((s, i) => (s.status === 'rejected' ? [peerError(unique[i] as string, s.reason)] : [])),
        };
      });
      const comparison = compareInventories(inventories);
      if (options.json) {
        writeJson({ ...comparison, unreachable: failures.map((f) => f.message) });
      } else if (inventories.length > 0) {
        writeLine(
          formatTable(
            [{ header: 'node' }, { header: 'sequence', align: 'right' }, { header: 'present', align: 'right' }, { header: 'missing', align: 'right' }],
            comparison.nodes.map((n) => [n.peer, formatCount(n.sequenceLength), formatCount(n.present), formatCount(n.missing)]),
          ),
        );
        if (comparison.pairs.length > 0) {
          writeLine('');
          writeLine(
            formatTable(
              [{ header: 'a' }, { header: 'b' }, { header: 'only a', align: 'right' }, { header: 'only b', align: 'right' }, { header: 'first differing positions' }],
              comparison.pairs.map((p) => [p.a, p.b, formatCount(p.onlyA), formatCount(p.onlyB), p.firstDifferences.join(', ') || '-']),
            ),
          );
        }
        writeLine('');
        writeLine(`missing on every node: ${formatCount(comparison.missingEverywhere)}${comparison.lengthsDiffer ? '; the nodes report different sequence lengths' : ''}`);
      }
      if (failures.length > 0) {
        for (const failure of failures.slice(0, -1)) process.stderr.write(`atlas: ${failure.message}\n`);
        throw failures[failures.length - 1] as CliError;
      }
    });
}

/** The whole inventory vector of `peer`, read in ranges of at most the protocol's limit. */
async function fetchInventory(client: ProtocolClient, peer: string): Promise<NodeInventory> {
  const step = client.limits.maxInventoryBytes;
  const first = await client.inventory(peer, { offset: 0, length: step });
  const sequenceLength = first.sequenceLength;
  const size = Math.ceil(sequenceLength / 8);
  if (size > MAX_INVENTORY_BYTES) throw new CliError(`${peer} reports ${sequenceLength} positions, more than this tool reads`);
  const bytes = new Uint8Array(size);
  bytes.set(first.bytes.subarray(0, size));
  for (let offset = first.bytes.byteLength; offset < size; ) {
    const next = await client.inventory(peer, { offset, length: Math.min(step, size - offset) });
    if (next.bytes.byteLength === 0) break;
    bytes.set(next.bytes.subarray(0, size - offset), offset);
    offset += next.bytes.byteLength;
  }
  return { peer, sequenceLength, bytes };
}
