import { HttpTransport } from '../../src/transport/http.js';
import { transportContract } from './contract.js';

transportContract('HttpTransport', {
  async server(service) {
    const transport = new HttpTransport({ listen: '127.0.0.1:0' });
    return { transport, address: await transport.listen(service) };
  },
  listener: () => new HttpTransport({ listen: '127.0.0.1:0' }),
  client: () => new HttpTransport(),
  remoteOf: () => /^127\.0\.0\.1:\d+$/,
  callerOf: () => ({ host: '127.0.0.1', family: 4, port: 'any' }),
});
