import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./slow_reader.py', import.meta.url));

export interface ReadResult {
  readonly closed: boolean;
  readonly events: string[];
  readonly bytes: number;
  /** The last bytes received, chunked-encoding framing removed (to see whether a frame was cut). */
  readonly tail: string;
}

/** A subscriber that does not read until asked (see slow_reader.py). */
export class SlowReader {
  private readonly lines: AsyncIterableIterator<string>;

  /** The reader's own port: with the server's, it names the connection (`ss`). */
  localPort = 0;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async connect(port: number, path: string): Promise<SlowReader> {
    const reader = new SlowReader(spawn('python3', [SCRIPT, '127.0.0.1', String(port), path]));
    const first = await reader.lines.next();
    const connected = /^connected (\d+)$/.exec(String(first.value));
    if (!connected) throw new Error(`slow reader failed: ${first.value}`);
    reader.localPort = Number(connected[1]);
    return reader;
  }

  /** Reads what the server sent until it closed or went quiet for a second. */
  async read(): Promise<ReadResult> {
    this.child.stdin.write('read\n');
    const line = await this.lines.next();
    return JSON.parse(line.value as string) as ReadResult;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill();
    await once(this.child, 'exit');
  }
}
