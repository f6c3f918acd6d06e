"""A subscriber that stops reading: a raw socket with a tiny receive buffer (so the server sees
backpressure after a few kilobytes, not after megabytes of kernel buffering), which connects,
sends the request, then reads nothing until told to on stdin.

usage: slow_reader.py HOST PORT PATH
stdin commands: "read" -> read until the server closes or 1 s of silence, then print one JSON line
{"closed": bool, "events": [data, ...], "bytes": n}. Prints "connected <local port>" once the request is sent.
Node cannot set SO_RCVBUF on a socket, hence Python."""
import json, re, socket, sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect((host, port))
s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
print(f"connected {s.getsockname()[1]}", flush=True)

for line in sys.stdin:
    if line.strip() != "read":
        continue
    s.settimeout(1.0)
    chunks, closed = [], False
    while True:
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not data:
            closed = True
            break
        chunks.append(data)
    raw = b"".join(chunks)
    # Good enough for assertions: the SSE data lines (chunk-size lines never start with "data: ").
    events = [l[6:].decode(errors="replace") for l in raw.split(b"\n") if l.startswith(b"data: ")]
    # The SSE text without chunk framing ("\r\n<hex>\r\n" before each chunk), to check the end.
    text = re.sub(rb"\r\n[0-9a-fA-F]+\r\n", b"", raw[-8192:])
    print(json.dumps({"closed": closed, "events": events, "bytes": len(raw), "tail": text[-512:].decode(errors="replace")}), flush=True)
