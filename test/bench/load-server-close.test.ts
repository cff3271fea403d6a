/**
 * bench/load-server.ts asked for its figures while it closes: "stats" is answered with the count
 * read before the close (a closing node refuses stats()), "verify" with an error, and the process
 * still exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadServerConfig, LoadServerMessage } from '../../bench/load-server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HELD = 50;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function startLoadServer(): Promise<ChildProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'atlas-load-server-'));
  dirs.push(dataDir);
  const config: LoadServerConfig = { kind: 'node', dataDir, heldSeed: 1, heldCount: HELD, putSeed: 2, putCount: 10, limits: 'default' };
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'load-server.ts'), JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  await new Promise<void>((ready, fail) => {
    child.stdout!.once('data', () => ready());
    child.once('exit', (code) => fail(new Error(`load-server exited ${code} before it listened`)));
  });
  return child;
}

/** Resolves once `pid` is stopped (state T in /proc): a SIGCONT sent sooner would cancel the stop. */
async function untilStopped(pid: number): Promise<void> {
  const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
  for (let tries = 0; state() !== 'T'; tries++) {
    if (tries > 1_000) throw new Error(`process ${pid} did not stop`);
    await new Promise((wait) => setTimeout(wait, 5));
  }
}

describe.runIf(process.platform === 'linux')('bench/load-server.ts asked for figures while it closes', () => {
  it('answers stats from before the close, verify with an error, and exits 0', async () => {
    const child = await startLoadServer();
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const answers: unknown[] = [];
    child.on('message', (answer) => answers.push(answer));
    // 'close', not 'exit': it comes once the answers still on their way have been read too.
    const closed = new Promise<number | null>((done) => child.once('close', (code) => done(code)));

    // Stopped, the server finds the verify question and SIGTERM at once when it resumes: it
    // answers the question first (libuv runs signal handlers after the other I/O of a turn), for
    // most of a second, then begins its close; the questions sent meanwhile are read during it.
    child.kill('SIGSTOP');
    await untilStopped(child.pid!);
    child.send({ verify: { quick: true, batch: 10 } } satisfies LoadServerMessage);
    child.kill('SIGTERM');
    child.kill('SIGCONT');
    await new Promise((wait) => setTimeout(wait, 100));
    child.send('stats' satisfies LoadServerMessage);
    child.send({ verify: { quick: true, batch: 10 } } satisfies LoadServerMessage);

    expect(await closed, stderr).toBe(0);
    expect(answers).toHaveLength(3);
    expect(answers[0]).toHaveProperty('verifiedUs');
    expect(answers[1]).toEqual({ chunks: HELD });
    expect(answers[2]).toEqual({ error: 'the node is closing' });
  });
});
