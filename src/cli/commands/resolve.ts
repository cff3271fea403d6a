/** `atlas resolve <name> --peer <addr>`: a BNS name's zone file from a running node. */
import { InvalidArgumentError, type Command } from 'commander';
import { secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { getNodeJson } from '../node-http.js';
import { inlineText, printable, remoteText, writeJson } from '../output.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerOption } from '../remote.js';

interface ResolveOptions {
  peer: string;
  timeout: number;
  json?: boolean;
}

export function registerResolveCommand(program: Command): void {
  program
    .command('resolve')
    .description("print a BNS name's zone file, as a running node resolves it (GET /v1/names/<name>)")
    .argument('<name>', 'the name, e.g. muneeb.id or a subdomain such as bob.dmails.id', parseName)
    .addOption(peerOption('the node to ask'))
    .option('-t, --timeout <seconds>', 'deadline of the call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .option('--json', 'print the whole answer as JSON')
    .action(async (name: string, options: ResolveOptions) => {
      const { status, body } = await getNodeJson(options.peer, `/v1/names/${encodeURIComponent(name)}`, options.timeout);
      if (options.json) {
        writeJson({ name, ...body });
        if (status !== 200 || body.status !== 'ok') throw new CliError(`${name}: ${remoteText(body.status ?? body.code ?? status)}`);
        return;
      }
      if (status === 404) throw new CliError(`${name}: ${remoteText(body.error ?? 'not found')}`);
      if (status !== 200) throw new CliError(`${options.peer} answered HTTP ${status}: ${remoteText(body.error ?? '')}`);
      if (body.status !== 'ok' || typeof body.zonefile !== 'string') {
        const hash = typeof body.zonefile_hash === 'string' ? ` (zone file ${body.zonefile_hash})` : '';
        throw new CliError(`${name}: ${remoteText(body.status)}${hash}`);
      }
      process.stderr.write(`${inlineText(name)}: owner ${inlineText(remoteText(body.address))}, zone file ${inlineText(remoteText(body.zonefile_hash))}\n`);
      // Exact when piped (it may be saved and hashed); on a terminal, shown, never obeyed.
      const text = body.zonefile.endsWith('\n') ? body.zonefile : `${body.zonefile}\n`;
      process.stdout.write(process.stdout.isTTY ? printable(text) : text);
    });
}

/** A name to look up: not empty (an empty one asked for the names route itself). */
function parseName(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a name such as muneeb.id, got an empty one');
  return value;
}
