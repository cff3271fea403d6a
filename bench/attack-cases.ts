/** The attacks `bench:attack` runs, each from a process of its own (attack-attacker.ts). */
import {
  bandwidthHog,
  caseVariants,
  idleKeepAlive,
  pipelineNoRead,
  postLoop,
  slowBodies,
  trickleHeaders,
  type Attack,
} from '../test/security/hostile/attackers.js';

export interface AttackCase {
  label: string;
  start(port: number, addresses: readonly string[]): Attack;
}

const xmlCall = (method: string, params: string) => `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;

export const ATTACKS: readonly AttackCase[] = [
  { label: '64 slow bodies', start: (port) => slowBodies(port, 64) },
  { label: '256 trickled heads', start: (port) => trickleHeaders(port, 256, 100) },
  { label: '256 idle keep-alive', start: (port) => idleKeepAlive(port, 256) },
  { label: '64 x 10 pipelined getChunks, unread', start: (port, addresses) => pipelineNoRead(port, 64, 10, addresses) },
  { label: '4 x getChunks 100 x 40 KiB', start: (port, addresses) => bandwidthHog(port, 4, addresses) },
  {
    label: '4 x legacy <double> of 90,000 digits',
    start: (port) => postLoop(port, 4, '/RPC2', xmlCall('get_zonefiles', `<param><value><double>${'9'.repeat(90_000)}x</double></value></param>`), { 'content-type': 'text/xml' }),
  },
  {
    label: '4 x legacy call of 130,000 empty elements',
    start: (port) => postLoop(port, 4, '/RPC2', xmlCall('get_zonefiles', `<param><value><array><data>${'<a/>'.repeat(130_000)}</data></array></value></param>`), { 'content-type': 'text/xml' }),
  },
  {
    label: '4 x cross-site POST /RPC2',
    start: (port) => postLoop(port, 4, '/RPC2', xmlCall('atlas_peer_exchange', '<param><value><string>127.0.0.1:1</string></value></param>'), { 'content-type': 'text/plain', origin: 'http://evil.example' }),
  },
  {
    label: '4 x get_zonefiles, 1 hash in 100 cases',
    start: (port, addresses) =>
      postLoop(port, 4, '/RPC2', xmlCall('get_zonefiles', `<param><value><array><data>${caseVariants(addresses[0] as string, 100).map((v) => `<value><string>${v}</string></value>`).join('')}</data></array></value></param>`), { 'content-type': 'text/xml' }),
  },
];
