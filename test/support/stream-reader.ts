/** Reads a raw SSE response until the server ends it; `opened` once the head's `retry:` arrived. */
export function readUntilEnd(url: string, timeoutMs: number): { opened: Promise<void>; text: Promise<string> } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const text = (async () => {
    const res = await fetch(url, { signal: controller.signal });
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
      if (text.includes('retry:')) open();
    }
    clearTimeout(timer);
    return text;
  })();
  return { opened, text };
}
