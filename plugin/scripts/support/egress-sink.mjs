// A loopback "proxy" that refuses everything and records what tried to leave the machine.
// The e2e points HTTP(S)_PROXY at it (NO_PROXY = loopback), so any non-loopback request that
// OpenClaw makes (e.g. its ClawHub catalog fetch) ends here instead of on the network.
import { createServer } from "node:http";

export async function startEgressSink() {
  const attempts = [];
  const server = createServer((req, res) => {
    attempts.push(`${req.method} ${req.url}`);
    res.writeHead(403, { "content-type": "text/plain" });
    res.end("egress blocked by creditgate e2e");
  });
  server.on("connect", (req, socket) => {
    attempts.push(`CONNECT ${req.url}`);
    socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    attempts,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
