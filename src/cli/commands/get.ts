/**
 * `atlas get <address> [-p <peer>] [-o file]`: one chunk, hash-checked. Asked of the node first;
 * when it does not hold the chunk, of the live peers it names (one hop, at most GET_PEERS_ASKED),
 * so a chunk anywhere near the node is found without running a node of one's own.
 */
import type { Command } from 'commander';
import type { ProtocolClient } from '../../protocol/client.js';
import { parseChunkAddress, secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { writeWholeFile } from '../files.js';
import { readyHash } from '../hash-on-demand.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerError, peerOption, withRemote } from '../remote.js';
import { printable } from '../output.js';

/** Most of the node's peers asked for a chunk the node lacks. */
export const GET_PEERS_ASKED = 16;

interface GetOptions {
  peer: string;
  output?: string;
  timeout: number;
}

export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description("fetch one chunk through a running node (or the peers it knows); its bytes go to stdout or to --output")
    .argument('<address>', 'chunk address, 40 hex characters', parseChunkAddress)
    .addOption(peerOption('the node to ask first'))
    .option('-o, --output <file>', 'write the chunk to this file instead of stdout')
    .option('-t, --timeout <seconds>', 'deadline of each call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .action(async (address: string, options: GetOptions) => {
      const { hash160Hex } = await readyHash();
      const askOne = (client: ProtocolClient, peer: string) => askFor(client, peer, address, hash160Hex);
      const found = await withRemote(options.timeout, async ({ client }) => {
        let data: Uint8Array | undefined;
        try {
          data = await askOne(client, options.peer);
        } catch (error) {
          throw peerError(options.peer, error);
        }
        if (data !== undefined) return { data, from: options.peer };
        const peers = await client.peers(options.peer, {}).then((r) => r.peers, () => [] as string[]);
        for (const peer of peers.slice(0, GET_PEERS_ASKED)) {
          const fromPeer = await askOne(client, peer).catch(() => undefined);
          if (fromPeer !== undefined) return { data: fromPeer, from: peer };
        }
        throw new CliError(`neither ${options.peer} nor the ${Math.min(peers.length, GET_PEERS_ASKED)} peer(s) it knows hold ${address}`);
      });
      if (found.from !== options.peer) process.stderr.write(printable(`${address}: from ${found.from}, a peer of ${options.peer}\n`));
      if (options.output !== undefined) {
        await writeWholeFile(options.output, found.data).catch((error: NodeJS.ErrnoException) => {
          throw new CliError(`cannot write ${options.output}: ${error.code ?? error.message}`);
        });
        process.stderr.write(`${address}: ${found.data.byteLength} bytes written to ${options.output}\n`);
      } else {
        await new Promise<void>((resolve, reject) => process.stdout.write(found.data, (error) => (error ? reject(error) : resolve())));
      }
    });
}

/** The chunk from `peer`, undefined when it does not hold it; throws when its bytes do not hash to the address. */
async function askFor(client: ProtocolClient, peer: string, address: string, hash160Hex: (data: Uint8Array) => string): Promise<Uint8Array | undefined> {
  const reply = await client.getChunks(peer, { addresses: [address] });
  const chunk = reply.chunks.find((c) => c.address === address);
  if (chunk === undefined) return undefined;
  if (hash160Hex(chunk.data) !== address) throw new CliError(`${peer} sent bytes that do not hash to ${address}`);
  return chunk.data;
}
