// End-to-end tests of the log explorer in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; never a downloaded browser). Starts www/serve.mjs on a free 127.0.0.1 port.
// Run from the repository root: node --test www/test/   (needs `make build-web` first)
//
// Writes (not committed): /tmp/auth-anomaly-explorer.png (1280×800), -full.png, -narrow.png, and the
// generated inputs under /tmp. Prints a throughput report for a 100k-event file.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(WWW, '..');
const DEMO = path.join(ROOT, 'demo', 'org-demo.ndjson');
const TRUTH = JSON.parse(fs.readFileSync(path.join(ROOT, 'demo', 'org-demo.truth.json'), 'utf8'));
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-anomaly-explorer-'));
const SCREENSHOT = '/tmp/auth-anomaly-explorer.png';
const BIG = '/tmp/auth-anomaly-explorer-100k.ndjson';
const XSS_NAME = '<img src=x onerror=alert(1)>';

const missing = [
  !fs.existsSync(path.join(WWW, 'pkg', 'auth_anomaly_bg.wasm')) && 'www/pkg (run `make build-web`)',
  !fs.existsSync(CHROMIUM) && CHROMIUM,
].filter(Boolean);
const skip = missing.length ? `missing ${missing.join(', ')}` : false;

let server;
let origin;
let browser;
let context;
let page;
let cliAlerts;
let ownAlerts;
const requests = [];
const dialogs = [];
const pageErrors = [];

// ---------------------------------------------------------------------------------------------
// Helpers

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(WWW, 'serve.mjs')], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) resolve({ proc, url: m[1] });
    });
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error(`serve.mjs exited (${code}) before listening: ${out}`)));
  });
}

async function stopServer(s) {
  if (!s || s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
}

/** The CLI's alerts for a file (the reference the explorer's export must equal). */
async function runCli(file) {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'hosts', 'node', 'cli.mjs'), 'detect', file], {
    cwd: ROOT,
    maxBuffer: 256 << 20,
  });
  return stdout;
}

/** The alerts of www/pkg (the very build the page runs) on a file, computed in Node. */
async function webPkgAlerts(file) {
  const script = `
    import fs from 'node:fs';
    const pkg = ${JSON.stringify(path.join(WWW, 'pkg'))};
    const { default: init, Detector } = await import(pkg + '/auth_anomaly.js');
    await init({ module_or_path: fs.readFileSync(pkg + '/auth_anomaly_bg.wasm') });
    const d = new Detector({ reference_time: Math.round(fs.statSync(process.argv[1]).mtimeMs) });
    process.stdout.write(d.pushNdjson(fs.readFileSync(process.argv[1])));
    process.stdout.write(d.flush());
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '--no-warnings', '-e', script, file], {
    maxBuffer: 256 << 20,
  });
  return stdout;
}

const parseNdjson = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** ~100k events: the demo month repeated with its timestamps shifted by whole months. */
function writeBigFile(target = 100_000) {
  const lines = fs.readFileSync(DEMO, 'utf8').split('\n').filter(Boolean);
  const shiftDays = 30;
  const out = fs.openSync(BIG, 'w');
  let n = 0;
  for (let k = 0; n < target; k++) {
    const shift = k * shiftDays * 86_400_000;
    const buf = [];
    for (const line of lines) {
      if (n >= target) break;
      buf.push(
        k === 0
          ? line
          : line.replace(/"@timestamp":"([^"]+)"/, (_, ts) => `"@timestamp":"${new Date(Date.parse(ts) + shift).toISOString()}"`),
      );
      n++;
    }
    fs.writeSync(out, `${buf.join('\n')}\n`);
  }
  fs.closeSync(out);
  return n;
}

/** Runs input through the page and waits for the end of that run. */
async function runAndWait(start, timeout = 60_000) {
  const prev = await page.evaluate(() => document.body.dataset.doneRun ?? '');
  await start();
  await page.waitForFunction((p) => (document.body.dataset.doneRun ?? '') !== p, prev, { timeout });
  return page.evaluate(() => document.body.dataset.state);
}

async function loadFiles(files, timeout) {
  return runAndWait(() => page.setInputFiles('[data-testid=file-input]', files), timeout);
}

async function rows(kind) {
  const all = await page.$$eval('[data-testid=alert-row]', (trs) =>
    trs.map((tr) => ({
      kind: tr.dataset.kind,
      job: tr.dataset.job,
      time: Number(tr.dataset.time),
      users: tr.dataset.user ? tr.dataset.user.split(',') : [],
      ips: tr.dataset.ip ? tr.dataset.ip.split(',') : [],
      score: Number(tr.dataset.score),
    })),
  );
  return kind ? all.filter((r) => r.kind === kind) : all;
}

async function download(click) {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: dl.suggestedFilename(), text: fs.readFileSync(await dl.path(), 'utf8'), path: await dl.path() };
}

async function setRange(selector, value) {
  await page.$eval(
    selector,
    (el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    },
    value,
  );
  // The table is redrawn on the next animation frame.
  await settle();
}

/** The table is redrawn on the next animation frame after a filter change. */
async function settle() {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function openDetails(id, open = true) {
  await page.$eval(`#${id}`, (d, o) => (d.open = o), open);
}

/** What each planted attack must raise, by attack type (from the truth file). */
const EXPECTED = {
  stolen_credentials_outside: (a) => [{ job: 'auth_rare_source_ip_for_a_user', user: a['user.name'][0], ip: a['source.ip'] }],
  lateral_movement_colleague_desk: (a) => [{ job: 'auth_rare_source_ip_for_a_user', user: a['user.name'][0], ip: a['source.ip'] }],
  brute_force: (a) => [
    { job: 'auth_high_count_logon_fails', user: a['user.name'][0], ip: a['source.ip'] },
    // …and the successful logon that ends it, from an address the user never used.
    { job: 'auth_rare_source_ip_for_a_user', user: a['user.name'][0], ip: a['source.ip'] },
  ],
  password_spray: (a) => [{ job: 'auth_high_count_logon_fails', ip: a['source.ip'] }],
  credential_replay_one_desk: (a) => [{ job: 'auth_high_count_logon_events_for_a_source_ip', ip: a['source.ip'] }],
  off_hours_logon: (a) => [{ job: 'auth_rare_hour_for_a_user', user: a['user.name'][0], ip: a['source.ip'] }],
  dormant_account: (a) => [{ job: 'auth_rare_user', user: a['user.name'][0], ip: a['source.ip'] }],
};

// ---------------------------------------------------------------------------------------------

describe('log explorer in Chromium', { skip, timeout: 120_000 }, () => {
  before(async () => {
    const cli = runCli(DEMO).then(
      (out) => (cliAlerts = out),
      (err) => (cliAlerts = err),
    );
    const own = webPkgAlerts(DEMO).then(
      (out) => (ownAlerts = out),
      (err) => (ownAlerts = err),
    );
    writeBigFile();
    server = await startServer();
    origin = server.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    context.on('request', (r) => requests.push(r.url()));
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${origin}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    await Promise.all([cli, own]);
  });

  after(async () => {
    await browser?.close();
    await stopServer(server);
    fs.rmSync(TMP, { recursive: true, force: true });
  });

  it('finds the planted attacks of the demo file (opened with the file input)', async () => {
    const started = Date.now();
    assert.equal(await loadFiles(DEMO), 'done');
    const alerts = await rows('alert');
    const elapsed = Date.now() - started;
    const summary = await page.textContent('[data-testid=run-summary]');
    assert.match(summary, /Processed 15,943 events/);
    for (const attack of TRUTH.attacks) {
      const expect = EXPECTED[attack.type];
      assert.ok(expect, `no expectation for attack type ${attack.type}; add one`);
      for (const e of expect(attack)) {
        const hit = alerts.find(
          (r) =>
            r.job === e.job &&
            (!e.user || r.users.includes(e.user)) &&
            r.ips.includes(e.ip) &&
            r.time >= Math.floor(attack.start_ms / 900_000) * 900_000 - 900_000 &&
            r.time <= attack.end_ms,
        );
        assert.ok(hit, `${attack.id} (${attack.type}): no ${e.job} alert row for ${e.user ?? 'any user'} from ${e.ip}`);
      }
    }
    // The ones the brief names, explicitly.
    const has = (job, user, ip) => alerts.some((r) => r.job === job && (!user || r.users.includes(user)) && (!ip || r.ips.includes(ip)));
    assert.ok(has('auth_rare_source_ip_for_a_user', 'grace.jones', '185.220.190.132'));
    assert.ok(has('auth_rare_source_ip_for_a_user', 'peggy.wolf', '10.20.3.122'));
    assert.ok(has('auth_high_count_logon_fails', null, '45.155.244.114'));
    assert.ok(has('auth_rare_user', 'kemal.weber', null));
    // Severity colours follow the score.
    const sev = await page.$$eval('[data-testid=alert-row] .score', (els) => els.map((e) => [Number(e.textContent), e.className]));
    for (const [score, cls] of sev) {
      const want = score >= 75 ? 'critical' : score >= 50 ? 'major' : score >= 25 ? 'minor' : 'warning';
      assert.match(cls, new RegExp(`sev-${want}`));
    }
    console.log(`# demo file: ${alerts.length} alert rows in ${elapsed} ms (page: ${summary.trim()})`);
  });

  it('has the same alerts as the CLI, and exports them verbatim (NDJSON) and as CSV', async () => {
    const exported = await download(() => page.click('[data-testid=export-ndjson]'));
    assert.equal(exported.name, 'auth-anomaly-alerts.ndjson');
    const mine = parseNdjson(exported.text);
    assert.ok(mine.length > 0);
    assert.ok(mine.every((d) => d.event?.kind === 'signal'));
    const alertRows = await rows('alert');
    assert.equal(alertRows.length, mine.length);

    const csv = await download(() => page.click('[data-testid=export-csv]'));
    const csvLines = csv.text.trim().split('\r\n');
    assert.equal(csvLines[0], '"kind","time","rule","job_id","user","source_ip","host","score","severity","reason"');
    assert.equal(csvLines.length - 1, (await rows()).length);

    // Streaming in the worker changes nothing: the same documents as the build run in one go.
    if (ownAlerts instanceof Error) assert.fail(`running www/pkg in Node failed: ${ownAlerts.message}`);
    assert.deepEqual(mine, parseNdjson(ownAlerts), 'the explorer differs from its own WASM build run directly');

    if (cliAlerts instanceof Error) assert.fail(`the CLI failed: ${cliAlerts.message}`);
    const cli = parseNdjson(cliAlerts);
    const same = JSON.stringify(parseNdjson(ownAlerts)) === JSON.stringify(cli);
    assert.deepEqual(
      mine,
      cli,
      'the explorer\'s alert documents differ from `node hosts/node/cli.mjs detect demo/org-demo.ndjson`' +
        (same
          ? '.'
          : ` (${cli.length} alerts), but equal what its own build www/pkg gives (${mine.length}): pkg/node (the CLI's) and ` +
            'www/pkg were built from different sources; run `make build-node build-web`.'),
    );
  });

  it('reads several files in order, as the CLI does (a file may end without a newline)', async () => {
    const lines = fs.readFileSync(DEMO, 'utf8').split('\n').filter(Boolean);
    const half = Math.floor(lines.length / 2);
    const a = path.join(TMP, 'part-a.ndjson');
    const b = path.join(TMP, 'part-b.ndjson');
    fs.writeFileSync(a, lines.slice(0, half).join('\n'));
    fs.writeFileSync(b, `${lines.slice(half).join('\n')}\n`);
    const [state, cli] = await Promise.all([
      loadFiles([a, b]),
      promisify(execFile)(process.execPath, [path.join(ROOT, 'hosts', 'node', 'cli.mjs'), 'detect', a, b], { cwd: ROOT, maxBuffer: 256 << 20 }),
    ]);
    assert.equal(state, 'done');
    assert.match(await page.textContent('[data-testid=run-summary]'), /Processed 15,943 events/);
    const exported = await download(() => page.click('[data-testid=export-ndjson]'));
    assert.deepEqual(parseNdjson(exported.text), parseNdjson(cli.stdout));
    // Back to the demo file for the tests that follow.
    assert.equal(await loadFiles(DEMO), 'done');
  });

  it('re-filters held records live with the threshold slider, filters and sorting', async () => {
    const at75 = await rows();
    await setRange('[data-testid=threshold]', 25);
    const at25 = await rows();
    assert.ok(at25.length > at75.length, 'lowering the threshold shows more rows');
    assert.ok(at25.some((r) => r.kind === 'record' && r.score < 75 && r.score >= 25));
    assert.ok(at25.every((r) => r.score >= 25));
    assert.equal(await page.textContent('#threshold-value'), '25');
    // No re-processing: the run is the same one.
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'done');
    await setRange('[data-testid=threshold]', 90);
    assert.ok((await rows()).every((r) => r.score >= 90));
    await setRange('[data-testid=threshold]', 75);
    assert.equal((await rows()).length, at75.length);

    await page.selectOption('[data-testid=filter-rule]', 'auth_rare_user');
    await settle();
    assert.ok((await rows()).every((r) => r.job === 'auth_rare_user'));
    await page.selectOption('[data-testid=filter-rule]', '');
    await settle();
    await page.fill('[data-testid=filter-ip]', '10.20.3.0/24');
    await settle();
    const inNet = await rows();
    assert.ok(inNet.length > 0 && inNet.every((r) => r.ips.some((ip) => ip.startsWith('10.20.3.'))));
    await page.fill('[data-testid=filter-ip]', '');
    await page.fill('[data-testid=filter-user]', 'grace');
    await settle();
    assert.ok((await rows()).every((r) => r.users.some((u) => u.includes('grace'))));
    await page.fill('[data-testid=filter-user]', '');
    await settle();

    await page.click('th[data-sort=score] button');
    await settle();
    const byScore = (await rows()).map((r) => r.score);
    assert.deepEqual(byScore, [...byScore].sort((a, b) => b - a));
    assert.equal(await page.getAttribute('th[data-sort=score]', 'aria-sort'), 'descending');
    await page.click('th[data-sort=time] button');
    await settle();
    assert.equal(await page.getAttribute('th[data-sort=time]', 'aria-sort'), 'ascending');
  });

  it('is keyboard-navigable and opens a user drill-down with a timeline', async () => {
    // One tab stop in the table (roving tabindex); arrows move it.
    const order = await page.$$eval('[data-testid=alert-row]', (trs) => trs.map((tr) => tr.dataset.idx));
    const stops = await page.$$eval('[data-testid=alert-row][tabindex="0"]', (trs) => trs.map((tr) => tr.dataset.idx));
    assert.equal(stops.length, 1);
    await page.focus('[data-testid=alert-row][tabindex="0"]');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.idx), order[1]);
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.idx), order[order.length - 1]);
    await page.keyboard.press('ArrowUp');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset?.idx), order[order.length - 2]);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=drilldown]:not([hidden]) [data-testid=user-timeline]');

    // grace.jones: the stolen-credentials alert, on her timeline.
    await page.click('[data-testid=user-link][data-user="grace.jones"]');
    await page.waitForFunction(() => document.querySelector('[data-testid=drilldown-user]')?.textContent === 'grace.jones');
    await page.waitForSelector('[data-testid=user-timeline] circle.logon-point');
    const points = await page.$$eval('[data-testid=user-timeline] circle.logon-point', (c) => c.length);
    assert.ok(points >= 20, `timeline has ${points} logon points`);
    assert.ok((await page.$$('[data-testid=user-timeline] [data-testid=timeline-alert]')).length >= 1);
    const labels = await page.$$eval('[data-testid=user-timeline] .axis text', (t) => t.map((x) => x.textContent));
    assert.ok(labels.includes('185.220.190.132'));
    const addresses = await page.$$eval('[data-testid=typical-addresses] tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
    assert.ok(addresses.includes('10.20.2.202'));
    assert.equal(await page.$$eval('[data-testid=hour-profile] rect.hour-bar', (r) => r.length), 24);
    const evidence = await page.textContent('.selected-alert [data-testid=evidence][open]');
    assert.match(evidence, /185\.220\.190\.132/);
    assert.match(evidence, /typical addresses/);

    await page.evaluate(() => {
      document.activeElement?.blur();
      window.scrollTo(0, 0);
    });
    await page.screenshot({ path: SCREENSHOT });
    await page.screenshot({ path: SCREENSHOT.replace('.png', '-full.png'), fullPage: true });
  });

  it('saves the model snapshot and continues from it after a restore', async () => {
    await openDetails('model');
    const snap = await download(() => page.click('[data-testid=save-snapshot]'));
    assert.match(snap.name, /\.snap$/);
    const bytes = fs.readFileSync(snap.path);
    assert.equal(bytes.subarray(0, 8).toString('latin1'), 'AUTHANOM');
    const snapFile = path.join(TMP, 'model.snap');
    fs.writeFileSync(snapFile, bytes);
    const garbage = path.join(TMP, 'garbage.snap');
    fs.writeFileSync(garbage, 'not a snapshot');

    await page.setInputFiles('[data-testid=restore-input]', garbage);
    await page.waitForFunction(() => /Cannot use/.test(document.querySelector('[data-testid=model-status]').textContent));
    await page.setInputFiles('[data-testid=restore-input]', snapFile);
    await page.waitForFunction(() => /Restored/.test(document.querySelector('[data-testid=model-status]').textContent));
    assert.match(await page.textContent('[data-testid=model-status]'), /15,943 events/);

    // A later session: one more logon, continued from the restored model.
    const line = JSON.stringify({
      '@timestamp': '2026-10-30T18:00:00Z',
      event: { category: ['authentication'], outcome: 'success' },
      user: { name: 'grace.jones' },
      source: { ip: '10.20.2.202' },
    });
    await openDetails('paste');
    await page.fill('#paste-text', line);
    assert.equal(await runAndWait(() => page.click('[data-testid=paste-run]')), 'done');
    const summary = await page.textContent('[data-testid=run-summary]');
    assert.match(summary, /Processed 1 event \(/);
    assert.match(summary, /continued from the restored model/);
    await page.click('#forget-snapshot');
    await openDetails('paste', false);
    await openDetails('model', false);
  });

  it('shows rejected input plainly: count, reasons, first examples', async () => {
    const bad = path.join(TMP, 'garbage.log');
    fs.writeFileSync(bad, 'this is not a log line\n{"no":"timestamp"}\n\n{broken json\n<script>alert(2)</script>\n');
    // Opened while another file is being read: that run is cancelled and this one runs.
    await page.setInputFiles('[data-testid=file-input]', BIG);
    await page.waitForFunction(() => /events\/s/.test(document.querySelector('#progress-text')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.equal(await loadFiles(bad), 'done');
    assert.match(await page.textContent('[data-testid=run-summary]'), /^Processed 4 events/);
    const box = page.locator('[data-testid=error-summary]');
    assert.ok(await box.isVisible());
    assert.match(await page.textContent('[data-testid=rejected-count]'), /4 of 4 lines were rejected/);
    const reasons = await page.$$eval('[data-testid=rejection-reason]', (li) => li.map((x) => x.dataset.reason));
    assert.ok(reasons.includes('missing_timestamp') && reasons.includes('invalid_syslog'), reasons.join());
    const examples = await page.$$eval('[data-testid=rejection-example]', (li) => li.map((x) => x.textContent));
    assert.equal(examples.length, 4);
    assert.match(examples[0], /garbage\.log, line 1 \(invalid_syslog\): this is not a log line/);
    assert.match(examples[2], /line 4 /);
    assert.match(examples[3], /<script>alert\(2\)<\/script>/);
    assert.match(await page.textContent('[data-testid=table-empty]'), /no line of the input could be used/);
    assert.equal(await page.$$eval('script:not([src])', (s) => s.length), 0);
  });

  it('renders a hostile user name as text, and reruns with new settings', async () => {
    const lines = fs.readFileSync(DEMO, 'utf8').split('\n').filter((l) => l && l < '{"@timestamp":"2026-10-10');
    lines.push(
      JSON.stringify({
        '@timestamp': '2026-10-09T23:50:00Z',
        event: { category: ['authentication'], outcome: 'success' },
        user: { name: XSS_NAME },
        source: { ip: '203.0.113.66' },
        host: { name: '<b>bold</b>' },
      }),
    );
    const file = path.join(TMP, 'hostile.ndjson');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    assert.equal(await loadFiles(file), 'done');
    const row = page.locator('[data-testid=alert-row]', { has: page.locator(`[data-testid=user-link][data-user="${XSS_NAME}"]`) });
    assert.equal(await row.count(), 1);
    assert.match(await row.locator('td.users').textContent(), /<img src=x onerror=alert\(1\)>/);
    await row.locator('[data-testid=user-link]').click();
    await page.waitForFunction((n) => document.querySelector('[data-testid=drilldown-user]')?.textContent === n, XSS_NAME);
    assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0, 'no <img> element was created');
    assert.equal(await page.$$eval('b', (b) => b.length), 0);
    assert.deepEqual(dialogs, [], 'no script ran');

    // Settings: one job only, then an invalid allowlist (a plain error, not a silent table).
    await openDetails('settings');
    const boxes = await page.$$('[data-testid=job-toggle]');
    assert.equal(boxes.length, 6);
    for (const b of boxes) if ((await b.getAttribute('value')) !== 'auth_rare_user') await b.uncheck();
    assert.equal(await runAndWait(() => page.click('[data-testid=settings-rerun]')), 'done');
    const only = await rows();
    assert.ok(only.length > 0 && only.every((r) => r.job === 'auth_rare_user'), JSON.stringify(only.map((r) => r.job)));

    await page.fill('[data-testid=allowlist]', '10.0.0.0/33');
    assert.equal(await runAndWait(() => page.click('[data-testid=settings-rerun]')), 'failed');
    assert.match(await page.textContent('#settings-error'), /allowlist/);
    await page.fill('[data-testid=allowlist]', '');
    for (const b of boxes) await b.check();
    await openDetails('settings', false);
  });

  it('streams a 100k-event file in the worker: cancel, then a full run (throughput report)', async () => {
    // Cancel: stops early and says so.
    const prev = await page.evaluate(() => document.body.dataset.doneRun ?? '');
    await page.setInputFiles('[data-testid=file-input]', BIG);
    await page.waitForFunction(() => /events\/s/.test(document.querySelector('#progress-text')?.textContent ?? ''), null, { timeout: 30_000 });
    // The page stays responsive while the worker runs.
    const t0 = Date.now();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    const frameMs = Date.now() - t0;
    await page.click('[data-testid=cancel]');
    await page.waitForFunction((p) => (document.body.dataset.doneRun ?? '') !== p, prev, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'cancelled');
    assert.match(await page.textContent('[data-testid=run-summary]'), /^Cancelled after/);

    // The full run.
    assert.equal(await loadFiles(BIG, 120_000), 'done');
    const d = await page.$eval('[data-testid=run-summary]', (el) => ({ ...el.dataset }));
    const events = Number(d.events);
    assert.equal(events, 100_000);
    const size = fs.statSync(BIG).size;
    const report =
      `# throughput (100k events, ${(size / 2 ** 20).toFixed(1)} MiB, File.stream() in the worker): ` +
      `${Number(d.eventsPerSec).toLocaleString('en-US')} events/s end to end (${d.elapsedMs} ms); ` +
      `detector alone ${Math.round(events / (Number(d.wasmMs) / 1000)).toLocaleString('en-US')} events/s (${d.wasmMs} ms in pushNdjson), ` +
      `chart scan ${d.scanMs} ms; a frame during the run took ${frameMs} ms; ${os.cpus().length} CPU(s), load ${os.loadavg()[0].toFixed(1)}`;
    console.log(report);
  });

  it('fits narrow screens', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page is ${overflow}px wider than a 390px screen`);
    await page.screenshot({ path: SCREENSHOT.replace('.png', '-narrow.png'), fullPage: false });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('made no request outside its own origin and threw no errors', () => {
    assert.ok(requests.length > 0);
    const foreign = requests.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], `requests outside ${origin}`);
    assert.ok(requests.some((u) => u.endsWith('/pkg/auth_anomaly_bg.wasm')));
    assert.deepEqual(pageErrors, []);
  });
});
