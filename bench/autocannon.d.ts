// Minimal typing for the parts of autocannon's programmatic API used by bench/scenarios/ping.ts.
declare module 'autocannon' {
  interface Histo {
    average: number;
    p50: number;
    p99: number;
    max: number;
  }
  interface Result {
    requests: Histo;
    latency: Histo;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    setupClient?: (client: { setRequests(r: unknown[]): void }) => void;
  }
  function autocannon(opts: Options): Promise<Result>;
  export default autocannon;
}
