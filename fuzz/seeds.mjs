// Seed inputs for the fuzz targets (used by campaign.sh): real lines from ../../shared/fixtures
// (loghub's Linux sshd/PAM log, Windows Security events, Elastic's winlogbeat documents),
// generated ECS events, configurations, and snapshots made by the Node build (pkg/node).
// Writes DIR/<target>/<file>.
//   node fuzz/seeds.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { generatedLines } from '../benches/sidecar_load.mjs';
import { loadWasm } from '../hosts/node/lib/detector.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', '..', 'shared', 'fixtures');
const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node fuzz/seeds.mjs DIR\n');
  process.exit(2);
}

/** Writes `items` (strings or Buffers) as DIR/target/prefixN. */
function write(target, prefix, items) {
  const dir = path.join(out, target);
  fs.mkdirSync(dir, { recursive: true });
  items.forEach((item, i) => fs.writeFileSync(path.join(dir, `${prefix}${i}`), item));
}

const chunk = (lines, size) => {
  const chunks = [];
  for (let i = 0; i < lines.length; i += size) chunks.push(`${lines.slice(i, i + size).join('\n')}\n`);
  return chunks;
};

const g = generatedLines(20, 0.1);
const ecs = Array.from({ length: 400 }, () => g.next().value);
const syslog = fs.readFileSync(path.join(fixtures, 'loghub/Linux/Linux_2k.log'), 'utf8').split('\n').filter(Boolean);
const windows = fs.readFileSync(path.join(fixtures, 'windows-normal/security.evtx.auth.jsonl'), 'utf8').split('\n').filter(Boolean);

// Winlogbeat documents: Elastic's system.security pipeline output (nested) and the demo
// organisation's lines (ECS-style, as the simulator writes them).
const winlogbeat = [
  'test-security-windows2012r2-logon.json-expected.json',
  'test-security-windows2016-logoff.json-expected.json',
].flatMap((name) =>
  JSON.parse(fs.readFileSync(path.join(fixtures, 'elastic-integrations/system/security', name), 'utf8')).expected.map((d) =>
    JSON.stringify(d),
  ),
);
const demoWindows = fs
  .readFileSync(path.join(here, '..', 'demo', 'org-demo.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.includes('"winlog"'))
  .slice(0, 50);

write('syslog_line', 's', chunk(syslog, 50));
write('windows_json', 'w', windows.slice(0, 200));
write('windows_fast', 'w', [...winlogbeat, ...demoWindows, ...windows.slice(0, 50)]);
write('ndjson_ingest', 'e', chunk(ecs, 20));
// One document per input, plus Elastic's own pipeline output (nested, dotted, half dotted).
const elastic = fs
  .readdirSync(path.join(fixtures, 'elastic-integrations'), { recursive: true })
  .filter((f) => f.endsWith('-expected.json'))
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(fixtures, 'elastic-integrations', f), 'utf8')).expected ?? [])
  .map((doc) => JSON.stringify(doc));
write('ecs_json', 'e', [...ecs.slice(0, 100), ...elastic.slice(0, 100)]);
// Streams: lines of one layout with other values (the simulator's), and Elastic's documents.
write('ecs_stream', 'e', [...chunk(ecs, 8).slice(0, 40), ...chunk(elastic, 4).slice(0, 40)]);
write(
  'ndjson_ingest',
  'm',
  Array.from({ length: 10 }, (_, i) => `${[...ecs.slice(i * 5, i * 5 + 5), ...syslog.slice(i * 10, i * 10 + 5), ...windows.slice(i * 3, i * 3 + 3)].join('\n')}\n`),
);
write('config', 'c', [
  '{}',
  '{"profile":"elastic"}',
  '{"output":"verdicts","learning_days":0,"min_active_days":0}',
  '{"anomaly_threshold":50,"suppression_window":"24h","max_lateness":"1d","max_clock_step":"365d"}',
  '{"allowlist":["10.0.0.0/8"],"known_networks":["192.168.0.0/16"],"jobs":["auth_rare_source_ip_for_a_user"]}',
  '{"format":"syslog","reference_time":"2026-01-01T00:00:00Z","syslog_utc_offset_minutes":60,"model_memory_limit":"4MB","max_addresses_per_user":16}',
]);

const { Detector } = loadWasm();
const snapshots = [0, 20, 400].map((n) => {
  const d = new Detector({ learning_days: 0, min_active_days: 0 });
  if (n) d.pushNdjson(Buffer.from(`${ecs.slice(0, n).join('\n')}\n`));
  const bytes = Buffer.from(d.snapshot());
  d.free();
  return bytes;
});
write('snapshot_restore', 's', snapshots);
write('snapshot_payload', 'p', snapshots.map((s) => s.subarray(22))); // past the 22-byte header
