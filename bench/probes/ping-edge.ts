/**
 * What two steps of ours' `POST /ping` edge cost, inside a real uWebSockets.js handler: reading
 * the peer's address for the trust check (text form, as ours did until 28 Nov, against the binary
 * form it reads now) and turning a one-chunk body into text (copied out of uWS's chunk first, as
 * ours did, against decoded straight from it). Each variant runs 200,000 times in one request's
 * handler, in alternating rounds; the medians per call are printed.
 *
 *   node --import tsx bench/probes/ping-edge.ts
 */
import http from 'node:http';
import { uWS, type HttpResponse, type us_listen_socket } from '../../src/http/uws.js';

const N = 200_000;
const ROUNDS = 5;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
let sink = 0;

const variants: Record<string, (res: HttpResponse, body: ArrayBuffer) => void> = {
  'peer address, text (getRemoteAddressAsText + latin1 decode)': (res) => {
    sink += Buffer.from(res.getRemoteAddressAsText()).toString('latin1').length;
  },
  'peer address, binary (getRemoteAddress + Uint8Array)': (res) => {
    sink += new Uint8Array(res.getRemoteAddress())[3];
  },
  'body, copied (slice + Buffer + decode)': (_res, body) => {
    const chunks = [Buffer.from(body.slice(0))];
    sink += UTF8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).length;
  },
  'body, decoded from the chunk': (_res, body) => {
    sink += UTF8.decode(body).length;
  },
};

function measure(res: HttpResponse, body: ArrayBuffer): string {
  const times: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(variants)) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < N; i++) run(res, body);
      (times[name] ??= []).push(Number(process.hrtime.bigint() - start) / N);
    }
  }
  return Object.entries(times)
    .map(([name, ns]) => `${String(Math.round(ns.sort((a, b) => a - b)[ROUNDS >> 1])).padStart(6)} ns  ${name}`)
    .join('\n');
}

const body = new TextEncoder().encode('{"status":"0"}').buffer;
let listenSocket: us_listen_socket | undefined;
const app = uWS.App().post('/*', (res) => {
  res.onAborted(() => {});
  res.onData((chunk, isLast) => {
    if (!isLast) return;
    // The body variants use a copy of a real ping body: uWS neuters `chunk` when this returns.
    void chunk;
    res.end(measure(res, body));
  });
});
app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) throw new Error('cannot listen');
  listenSocket = socket;
  const port = uWS.us_socket_local_port(socket);
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/ping' }, (res) => {
    let text = '';
    res.on('data', (d) => (text += d));
    res.on('end', () => {
      console.log(text);
      if (sink === 0) console.log('(nothing measured)');
      uWS.us_listen_socket_close(listenSocket!);
    });
  });
  req.end('{"status":"0"}');
});
