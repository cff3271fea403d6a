/**
 * Binding a node:http server to its address, with the races of a listen that takes time (a host
 * name waits on DNS) settled: whatever comes first of the bind, its failure, the server's close
 * and the caller's signal decides the outcome, and a server closed or given up on before it bound
 * is closed again once it does, never left listening.
 */
import type { Server } from 'node:http';
import { AtlasError, ErrorCodes, abortedError } from '../errors.js';

/** What the owner of the server says about it while it binds. */
export interface BindControl {
  /** Whether the owner closed meanwhile: a server that binds then is closed at once. */
  isClosed(): boolean;
  /** Closes the owner (the signal aborted). */
  close(): void;
  /** Errors of the bound server, from then on. */
  onError(error: Error): void;
  signal?: AbortSignal;
}

/**
 * Resolves with the bound port. Rejects with the bind's error, with CLOSED when the server closes
 * (or its owner did) before it bound, and with ABORTED when `signal` aborts first (the owner is
 * then closed).
 */
export function bindServer(server: Server, host: string, port: number, control: BindControl): Promise<number> {
  const { signal } = control;
  if (signal?.aborted) return Promise.reject(abortedError('listen', signal));
  const closedMeanwhile = (): AtlasError => new AtlasError(ErrorCodes.CLOSED, 'transport closed while it was starting to listen');
  return new Promise<number>((resolve, reject) => {
    const settle = (): void => {
      server.off('error', onError);
      server.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onError = (error: Error): void => {
      settle();
      reject(error);
    };
    const onClose = (): void => {
      settle();
      reject(closedMeanwhile());
    };
    const onAbort = (): void => {
      settle();
      // A bind still under way may yet fail: its error has a listener, not an uncaught 'error' event.
      server.on('error', () => undefined);
      reject(abortedError('listen', signal));
      control.close();
    };
    server.once('error', onError);
    server.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    server.listen({ host, port }, () => {
      settle();
      if (control.isClosed()) {
        server.close();
        reject(closedMeanwhile());
        return;
      }
      server.on('error', control.onError);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound !== null ? bound.port : port);
    });
  });
}
