/**
 * Talking to running nodes from the CLI: a client-only HttpTransport and a ProtocolClient, closed
 * when the command ends, and errors turned into one line naming the peer.
 */
import { Option } from 'commander';
import { isAtlasError } from '../errors.js';
import type { ProtocolClient } from '../protocol/client.js';
import { collectPeer, parsePeer } from './args.js';
import { CliError } from './errors.js';

export const DEFAULT_REMOTE_TIMEOUT_S = 10;
/** Where `atlas node` listens by default, and so the node every command talks to by default. */
export const DEFAULT_NODE = '127.0.0.1:6264';

/** `-p, --peer <host:port>`, the same on every command that talks to a node; default the local node. */
export function peerOption(description = 'the node to talk to'): Option {
  return new Option('-p, --peer <host:port>', description).argParser(parsePeer).default(DEFAULT_NODE);
}

/** `-p, --peer <host:port>`, repeatable (commands that compare nodes); default the local node. */
export function peersOption(description = 'a node to talk to (repeatable)'): Option {
  return new Option('-p, --peer <host:port>', description).argParser(collectPeer);
}

export interface Remote {
  client: ProtocolClient;
  /** Per-call deadline in milliseconds. */
  timeoutMs: number;
}

/** Runs `action` with a client of its own; the transport and protocol modules load on the first call, not with the CLI. */
export async function withRemote<T>(timeoutSeconds: number, action: (remote: Remote) => Promise<T>): Promise<T> {
  const [{ HttpTransport }, { ProtocolClient }] = await Promise.all([import('../transport/http.js'), import('../protocol/client.js')]);
  const transport = new HttpTransport();
  const timeoutMs = Math.round(timeoutSeconds * 1000);
  const client = new ProtocolClient(transport, { timeouts: { ping: timeoutMs, inventory: timeoutMs, peers: timeoutMs, chunks: timeoutMs } });
  try {
    return await action({ client, timeoutMs });
  } finally {
    await transport.close();
  }
}

/** "cannot reach 127.0.0.1:9: ECONNREFUSED" and the like, for any failure of a call to `peer`. */
export function peerError(peer: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isAtlasError(error)) {
    switch (error.code) {
      case 'UNREACHABLE':
        return new CliError(`cannot reach ${peer}: ${stripPeer(error.message, peer)}`, undefined, { cause: error });
      case 'TIMEOUT':
        return new CliError(`${peer} did not answer in time (${error.message})`, undefined, { cause: error });
      case 'BAD_REPLY':
        return new CliError(`${peer} sent a bad reply: ${error.message}`, undefined, { cause: error });
      default:
        return new CliError(`${peer} refused: ${error.message} (${error.code})`, undefined, { cause: error });
    }
  }
  return new CliError(`call to ${peer} failed: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
}

function stripPeer(message: string, peer: string): string {
  return message.startsWith(`${peer}: `) ? message.slice(peer.length + 2) : message;
}
