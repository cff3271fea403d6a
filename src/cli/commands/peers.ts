/** `atlas peers [-p <peer>]`: the live peers a running node reports (its peer-exchange reply). */
import type { Command } from 'commander';
import { parsePeer, secondsParser } from '../args.js';
import { writeJson, writeLine } from '../output.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerError, peerOption, withRemote } from '../remote.js';

interface PeersOptions {
  peer: string;
  json?: boolean;
  timeout: number;
}

export function registerPeersCommand(program: Command): void {
  program
    .command('peers')
    .description("list the live peers a running node knows (its peer-exchange reply, at most 80)")
    .argument('[peer]', 'the node to ask, host:port (same as --peer)', parsePeer)
    .addOption(peerOption('the node to ask'))
    .option('--json', 'print JSON: { "peer": ..., "peers": [...] }')
    .option('-t, --timeout <seconds>', 'deadline of the call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .action(async (positional: string | undefined, options: PeersOptions) => {
      const peer = positional ?? options.peer;
      const peers = await withRemote(options.timeout, async ({ client }) => {
        try {
          return (await client.peers(peer, {})).peers;
        } catch (error) {
          throw peerError(peer, error);
        }
      });
      if (options.json) writeJson({ peer, peers });
      else if (peers.length === 0) writeLine(`${peer} knows no live peers`);
      else for (const p of peers) writeLine(p);
    });
}
