// A stand-in login service for the Envoy guard tests: HTTP basic auth, password "s3cret" → 200,
// anything else → 401. Every answer echoes the request headers it received as JSON.
// Usage: node upstream.mjs PORT   (listens on 127.0.0.1)
import http from "node:http";

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const auth = req.headers.authorization ?? "";
    const decoded = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString() : "";
    const password = decoded.includes(":") ? decoded.slice(decoded.indexOf(":") + 1) : "";
    const status = password === "s3cret" ? 200 : 401;
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ status, method: req.method, url: req.url, headers: req.headers }));
  });
});
server.listen(port, "127.0.0.1", () => console.log(`upstream listening on 127.0.0.1:${port}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
