import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import type { Metrics } from '../../src/node/metrics.js';
import { RequestObserver } from '../../src/node/observe.js';
import { silentLogger, systemClock } from '../../src/runtime.js';
import { contextFrom } from '../support/caller.js';

describe('RequestObserver', () => {
  it('labels served requests by protocol method only: made-up names cannot add metric series', async () => {
    const labels = new Set<string>();
    const metrics: Metrics = {
      count: (_name, _value, l) => void labels.add(String(l?.method)),
      gauge: () => {},
      observe: (_name, _value, l) => void labels.add(String(l?.method)),
    };
    const observer = new RequestObserver(metrics, silentLogger, systemClock);
    const handle = observer.serve(async (method) => {
      if (method !== 'ping') throw new AtlasError(ErrorCodes.UNKNOWN_METHOD, `no method ${method}`);
      return {};
    });
    await handle('ping', {}, contextFrom('127.0.0.1:1'));
    for (let i = 0; i < 1_000; i++) await handle(`made_up_${i}`, {}, contextFrom('127.0.0.1:1')).catch(() => undefined);
    expect([...labels].sort()).toEqual(['ping', 'unknown']);
  });
});
