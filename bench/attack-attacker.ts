/**
 * The attacker of bench/attack.ts, in a process of its own: a real attacker is another host, and
 * in the benchmark's process its sockets and reads would share the event loop that times the
 * honest client. node attack-attacker.js <case index> <port> <addresses as JSON>
 * Prints {"started": true} once the attack runs; on the IPC message "stop" it stops, sends
 * { bytesIn, statuses } and exits.
 */
import { ATTACKS } from './attack-cases.js';

const [index, port, addresses] = [Number(process.argv[2]), Number(process.argv[3]), JSON.parse(process.argv[4] ?? '[]') as string[]];
const attackCase = ATTACKS[index];
if (attackCase === undefined) throw new Error(`no attack ${index}`);
const attack = attackCase.start(port, addresses);
process.on('message', (message) => {
  if (message !== 'stop') return;
  void attack.stop().then(() => {
    process.send?.({ bytesIn: attack.bytesIn(), statuses: [...attack.statuses] }, () => process.exit(0));
  });
});
// A benchmark that went away leaves no attack running.
process.on('disconnect', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ started: true })}\n`);
