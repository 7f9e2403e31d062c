// Shared by the Node benches (node_bench.mjs, wasm_instructions.mjs): the input cut as every bench
// feeds it, and the plain-JavaScript baseline they compare against.

/** `bytes` in line-aligned chunks of at most 1 MiB (a line longer than that is one chunk). */
export function lineAlignedChunks(bytes, size = 1 << 20) {
  const chunks = [];
  for (let start = 0; start < bytes.length; ) {
    let end = Math.min(start + size, bytes.length);
    if (end < bytes.length) {
      const nl = bytes.indexOf(0x0a, end);
      end = nl < 0 ? bytes.length : nl + 1;
    }
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

/** The non-blank lines of `chunks`, decoded. */
export function* jsonLines(chunks) {
  const decoder = new TextDecoder();
  for (const c of chunks) {
    const text = decoder.decode(c);
    let from = 0;
    for (;;) {
      const nl = text.indexOf("\n", from);
      const line = nl < 0 ? text.slice(from) : text.slice(from, nl);
      if (line.trim()) yield line;
      if (nl < 0) break;
      from = nl + 1;
    }
  }
}

function field(o, nested, dotted) {
  const v = nested !== undefined ? nested : o[dotted];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The baseline: what one would write in an afternoon. First-seen (user, ip) pairs among
 * successful authentication events, nested or dotted keys (JSON.parse + Map of Maps).
 */
export function baseline(chunks) {
  const seen = new Map();
  let events = 0;
  let firstSeen = 0;
  for (const line of jsonLines(chunks)) {
    events++;
    let o;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    const category = o.event?.category ?? o["event.category"];
    const isAuth = Array.isArray(category) ? category.includes("authentication") : category === "authentication";
    if (!isAuth || field(o, o.event?.outcome, "event.outcome") !== "success") continue;
    const user = field(o, o.user?.name, "user.name");
    const ip = field(o, o.source?.ip, "source.ip");
    if (!user || !ip) continue;
    let ips = seen.get(user);
    if (!ips) seen.set(user, (ips = new Map()));
    const count = ips.get(ip);
    if (count === undefined) firstSeen++;
    ips.set(ip, (count ?? 0) + 1);
  }
  return { events, firstSeen, users: seen.size };
}
