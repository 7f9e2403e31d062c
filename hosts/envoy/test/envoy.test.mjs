// Envoy adapter tests against a real Envoy 1.40 (started by hosts/envoy/test.sh with the shipped
// hosts/envoy/envoy.yaml, its ports and .wasm path replaced, --concurrency 1) and a stand-in login
// service (test/upstream.mjs: basic auth, password "s3cret" → 200, else 401; echoes headers).
//
// The batch listener and the guard listener share one detector (same vm_id, code and detector
// configuration, one worker), so the history POSTed in (a) is what (b)–(d) are scored against.
// The tests run in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const BATCH = process.env.BATCH_URL;
const GUARD = process.env.GUARD_URL;
const ENVOY = process.env.ENVOY_BIN;
const CONFIG = process.env.ENVOY_CONFIG;
const WORK = process.env.WORK_DIR;
const UPSTREAM_PORT = process.env.UPSTREAM_PORT;
assert.ok(BATCH && GUARD && ENVOY && CONFIG && WORK && UPSTREAM_PORT, "run through hosts/envoy/test.sh");

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MIN = 60_000;
const NOW = Date.now();
const DESKS = { alice: "10.1.1.10", bob: "10.1.2.20", carol: "10.1.3.30", dave: "10.1.4.40" };
const REJECT_ABOVE = 90; // as in the shipped envoy.yaml

function ecs(time, user, ip, outcome) {
  return JSON.stringify({
    "@timestamp": new Date(time).toISOString(),
    event: { category: ["authentication"], outcome },
    user: { name: user },
    source: { ip },
  });
}

// Fifteen days of four users on their own desks, three logons a day around the hour the test runs
// (so the guard's logons "now" are at a usual hour), one failed logon a day (a baseline for the
// failed-logon job); then, yesterday, carol from a network she has never used.
function fixture() {
  const rows = [];
  for (let k = 15; k >= 1; k--) {
    const day = NOW - k * DAY;
    for (const [user, ip] of Object.entries(DESKS)) {
      for (const off of [-50 * MIN, -20 * MIN, 30 * MIN]) rows.push([day + off, ecs(day + off, user, ip, "success")]);
    }
    rows.push([day - 35 * MIN, ecs(day - 35 * MIN, "dave", DESKS.dave, "failure")]);
  }
  const planted = NOW - DAY + 40 * MIN;
  rows.push([planted, ecs(planted, "carol", "185.220.101.4", "success")]);
  rows.sort((a, b) => a[0] - b[0]);
  return rows.map((r) => r[1]).join("\n") + "\n";
}

const basic = (user, password) => "Basic " + Buffer.from(`${user}:${password}`).toString("base64");

async function login(user, password, clientIp, extra = {}) {
  const res = await fetch(`${GUARD}/login`, {
    method: "POST",
    headers: { authorization: basic(user, password), "x-forwarded-for": clientIp, ...extra },
  });
  const body = await res.json();
  return { status: res.status, body, headers: res.headers };
}

test("(a) batch: a POSTed NDJSON history gives exactly the expected alert", async () => {
  const res = await fetch(`${BATCH}/score`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: fixture(),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/x-ndjson");
  assert.equal(res.headers.get("x-auth-anomaly-rejected"), "0");
  const lines = (await res.text()).split("\n").filter((l) => l.trim());
  const alerts = lines.map((l) => JSON.parse(l));
  assert.equal(alerts.length, 1, `one alert expected, got:\n${lines.join("\n")}`);
  const [alert] = alerts;
  assert.equal(alert.job_id, "auth_rare_source_ip_for_a_user");
  assert.equal(alert.user.name, "carol");
  assert.equal(alert.source.ip, "185.220.101.4");
  assert.equal(alert["kibana.alert.rule.rule_id"], "d4b73fa0-9d43-465e-b8bf-50230da6718b");
  assert.ok(alert.record_score >= 75, `record_score ${alert.record_score}`);
  assert.equal(res.headers.get("x-auth-anomaly-alerts"), "1");
});

test("batch: GET returns the shared detector's stats; other methods get 405", async () => {
  const res = await fetch(`${BATCH}/`);
  assert.equal(res.status, 200);
  const { stats } = await res.json();
  assert.equal(stats.users, 4);
  assert.equal(stats.events, stats.accepted + stats.filtered + stats.rejected);
  assert.equal((await fetch(`${BATCH}/`, { method: "PUT", body: "x" })).status, 405);
});

test("batch: bad lines are counted rejections, not errors", async () => {
  const res = await fetch(`${BATCH}/`, { method: "POST", body: "not json\n{}\n" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-auth-anomaly-events"), "2");
  assert.equal(res.headers.get("x-auth-anomaly-rejected"), "2");
  assert.equal(await res.text(), "");
});

const stats = async () => (await (await fetch(`${BATCH}/`)).json()).stats;

test("(b) guard: the normal user gets through with the score headers, spoofed values dropped", async (t) => {
  const before = await stats();
  const { status, body } = await login("bob", "s3cret", DESKS.bob, {
    "x-auth-anomaly-score": "0",
    "x-auth-anomaly-reason": "trust me",
  });
  assert.equal(status, 200);
  const h = body.headers;
  assert.match(h["x-auth-anomaly-score"], /^\d+(\.\d+)?$/, "one numeric score header");
  assert.ok(Number(h["x-auth-anomaly-score"]) < REJECT_ABOVE);
  assert.ok(h["x-auth-anomaly-reason"] && h["x-auth-anomaly-reason"] !== "trust me");
  assert.match(h["x-auth-anomaly-reason"], /^auth_/);
  t.diagnostic(`bob: score ${h["x-auth-anomaly-score"]}: ${h["x-auth-anomaly-reason"]}`);
  // Scoring at request time learns nothing: the one event is the outcome the upstream reported.
  const after = await stats();
  assert.equal(after.events - before.events, 1);
  assert.equal(after.accepted - before.accepted, 1);
  // Not a login request (path): passed untouched, and a client's own header is still removed.
  const other = await fetch(`${GUARD}/static/app.js`, { headers: { "x-auth-anomaly-score": "0" } });
  const echoed = await other.json();
  assert.equal(echoed.headers["x-auth-anomaly-score"], undefined);
});

test("(c) guard: an attacker on a stable user's account from a new network is rejected", async (t) => {
  const before = await stats();
  const { status, body } = await login("alice", "guess", "198.51.100.7");
  t.diagnostic(`attacker: ${status} ${JSON.stringify(body)}`);
  assert.equal(status, 403, JSON.stringify(body));
  assert.equal(body.error, "auth-anomaly");
  assert.ok(body.score >= REJECT_ABOVE, `score ${body.score}`);
  assert.match(body.reason, /^auth_rare_source_ip_for_a_user: /);
  assert.match(body.reason, /198\.51\.100\.7/);
  // Rejected before the upstream: nothing reached the detector.
  assert.equal((await stats()).events, before.events);
  // The real alice, from her desk, is not affected.
  const ok = await login("alice", "s3cret", DESKS.alice);
  assert.equal(ok.status, 200);
});

test("(d) guard: a burst of 401s from the upstream raises the failed-logon score until 429", async (t) => {
  const scores = [];
  let last;
  for (let i = 0; i < 40; i++) {
    last = await login("bob", "wrong-" + i, DESKS.bob);
    if (last.status !== 401) break;
    scores.push(Number(last.body.headers["x-auth-anomaly-score"]));
  }
  assert.ok(scores.length >= 3, `some 401s first: ${JSON.stringify(last)}`);
  t.diagnostic(`scores of the 401s: ${scores.join(", ")}; then ${last.status} ${JSON.stringify(last.body)}`);
  assert.equal(last.status, 429, `throttled after ${scores.length} failures: ${JSON.stringify(last.body)}`);
  assert.equal(last.body.error, "auth-anomaly");
  assert.ok(last.body.score >= REJECT_ABOVE);
  const retry = Number(last.headers.get("retry-after"));
  assert.ok(retry > 0 && retry <= 901, `retry-after ${retry}`);
  assert.match(last.body.reason, /^auth_high_count_logon_fails: /);
  assert.ok(scores.at(-1) > scores[0], `scores rose: ${scores.join(", ")}`);
  // Another user on another desk is not throttled.
  assert.equal((await login("dave", "s3cret", DESKS.dave)).status, 200);
  // The 401s were learnt as failed logons (which the rare-address job does not take).
  const s = await stats();
  assert.ok((s.filtered_by_reason["auth_rare_source_ip_for_a_user:outcome_mismatch"] ?? 0) >= scores.length);
});

test("a bad detector configuration is refused (envoy --mode validate fails, naming the field)", () => {
  const bad = readFileSync(CONFIG, "utf8").replace(
    /"detector": \{"profile": "adaptive"\}\}/,
    '"detector": {"profile": "adaptive", "learning_dayz": 3}}'
  );
  assert.notEqual(bad, readFileSync(CONFIG, "utf8"));
  const path = join(WORK, "bad.yaml");
  writeFileSync(path, bad);
  const r = spawnSync(ENVOY, ["--mode", "validate", "-c", path, "--log-level", "error"], { encoding: "utf8", timeout: 60_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /configuration refused: `detector\.learning_dayz`/);
});

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

test("guard with user_from json_body: the user is read from a buffered JSON body", async (t) => {
  // A second Envoy: the shipped config with the guard reading `user.name` from a JSON body.
  const [admin, batch, guard] = [await freePort(), await freePort(), await freePort()];
  const text = readFileSync(CONFIG, "utf8").replace(/"user_from": "basic"/, '"user_from": "json_body", "json_user_field": "user.name", "max_body_bytes": 200');
  const ports = [...text.matchAll(/port_value: (\d+)/g)].map((m) => m[1]);
  assert.equal(ports.length, 4);
  let i = 0; // admin, batch listener, guard listener, upstream: in file order
  const cfg = text.replace(/port_value: \d+/g, (m) => `port_value: ${[admin, batch, guard, UPSTREAM_PORT][i++]}`);
  const path = join(WORK, "json_body.yaml");
  writeFileSync(path, cfg);
  const envoy = spawn(ENVOY, ["-c", path, "--concurrency", "1", "--base-id", String(admin), "--log-level", "warn"], {
    stdio: "ignore",
  });
  t.after(() => envoy.kill());
  let ready = false;
  for (let n = 0; n < 150 && !ready; n++) {
    ready = await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.ok, () => false);
    if (!ready) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(ready, "second Envoy ready");
  const post = async (body) => {
    const res = await fetch(`http://127.0.0.1:${guard}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "10.7.7.7" },
      body,
    });
    return (await res.json()).headers;
  };
  const h = await post(JSON.stringify({ user: { name: "erin" }, password: "x" }));
  assert.match(h["x-auth-anomaly-reason"], /erin/);
  assert.match(h["x-auth-anomaly-score"], /^\d/);
  const big = await post(JSON.stringify({ user: { name: "erin" }, pad: "x".repeat(500) }));
  assert.equal(big["x-auth-anomaly-score"], "0");
  assert.match(big["x-auth-anomaly-reason"], /larger than max_body_bytes/);
  const none = await post(JSON.stringify({ name: "erin" }));
  assert.match(none["x-auth-anomaly-reason"], /no user name in the JSON body/);
});
