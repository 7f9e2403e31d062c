// Shared builders for the CLI, sidecar and filter tests.

/** One successful ECS logon line. */
export function logon(timestamp, user, ip) {
  return JSON.stringify({
    '@timestamp': timestamp,
    event: { category: ['authentication'], outcome: 'success' },
    user: { name: user },
    source: { ip },
    host: { name: 'srv-01' },
  });
}

/** 2026-09-01 plus `day` days at hh:mm UTC. */
export const at = (day, hh, mm) => new Date(Date.UTC(2026, 8, 1 + day, hh, mm)).toISOString();
