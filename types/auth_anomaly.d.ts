/* auth-anomaly — hand-written TypeScript types for the WebAssembly build (wasm-bindgen).
 * Copied over the generated declarations by `make build`. Field names follow ECS and Elastic's
 * anomaly record / ML alert documents. */

/** Detector configuration. Every field is optional; see the README's configuration table. */
export interface DetectorConfig {
  /** Scoring maths: ours (default) or Elastic's published maths, for parity. */
  profile?: "adaptive" | "elastic";
  /** Job ids to run (default: every implemented job enabled in pkg.json). */
  jobs?: string[];
  /** What pushNdjson returns (default "alerts"). */
  output?: "alerts" | "records" | "verdicts";
  /** Override every rule's anomaly_threshold (0–100; default the rule's own, 75). */
  anomaly_threshold?: number | null;
  /** One alert per (rule, user, source IP) per window: "24h" (default), "0s" disables, or ms. */
  suppression_window?: string | number;
  /** Days of history before a user's novelty can alert (default 7). */
  learning_days?: number;
  /** Active days before a user's novelty can alert (default 3). */
  min_active_days?: number;
  /** CIDR blocks whose logons never alert, e.g. ["10.8.0.0/16"]. */
  allowlist?: string[];
  /** Idle time after which an address is forgotten (default "30d"). */
  model_prune_window?: string | number;
  /** Lateness accepted into the open bucket (default "15m"). */
  max_lateness?: string | number;
  /** Largest accepted jump of the stream clock (default "365d"). */
  max_clock_step?: string | number;
  /** NDJSON lines longer than this are rejected (default 1048576). */
  max_line_bytes?: number;
  /** Per-user address history cap (default 256). */
  max_addresses_per_user?: number;
  /** Input format of lines (default "auto": recognised per line). */
  format?: "auto" | "ecs" | "syslog" | "evtx";
  /** Year-less syslog stamps are read relative to this time (RFC 3339 or epoch ms). */
  reference_time?: string | number;
  /** Zone of year-less syslog stamps, minutes east of UTC (default 0). */
  syslog_utc_offset_minutes?: number;
  /** user.name patterns (`*` wildcard) never alerted on by the rare-address rule. */
  allowlist_users?: string[];
  /** Alerts as Elastic ML alerts (default) or OCSF Detection Findings (class 2004). */
  output_format?: "elastic" | "ocsf";
  /** Memory budget of the whole model, e.g. "128mb" (default from pkg.json). */
  model_memory_limit?: string | number;
  /** Named networks, each one place for novelty: [{name: "vpn", cidr: ["10.8.0.0/16"]}]. */
  known_networks?: { name: string; cidr: string | string[] }[];
  /** Per-rule suppression windows, by job id: {"auth_rare_user": "7d"}. */
  suppression_windows?: Record<string, string | number>;
}

/** Where a user's address history stands. */
export type AssessmentState = "learning" | "known_address" | "new_address" | "allowlisted";

export interface TypicalAddress { ip: string; days_seen: number; first_seen: string; last_seen: string; }
export interface TypicalNetwork { network: string; days_seen: number; }
export interface AddressOwner { user: string; days_seen: number; last_seen: string; }

/** The evidence behind every score. */
export interface Evidence {
  state: AssessmentState;
  novelty: "none" | "address" | "subnet" | "site";
  by_field_first_occurrence: boolean;
  sightings_days: number;
  sightings_buckets: number;
  first_seen: string | null;
  last_seen: string | null;
  user_history_days: number;
  user_active_days: number;
  novelty_probability: number;
  typical_addresses: TypicalAddress[];
  typical_networks: TypicalNetwork[];
  shared_with_users: number;
  owner: AddressOwner | null;
  factors: string[];
  reason: string;
}

export interface JobVerdict {
  job_id: string;
  state: AssessmentState | "filtered" | "rejected";
  score: number;
  above_threshold: boolean;
  reason: string;
  evidence?: Evidence;
}

/** The real-time answer for one event. */
export interface Verdict {
  "@timestamp": string;
  line?: number;
  "user.name": string;
  "source.ip"?: string;
  "event.outcome": "success" | "failure" | "unknown";
  jobs: JobVerdict[];
  max_score: number;
  alert: boolean;
}

/** An input that could not be used. */
export interface Rejection { line: number; rejected: string; message: string; }

export interface Stats {
  events: number;
  accepted: number;
  filtered: number;
  rejected: number;
  late: number;
  events_by_format: Record<string, number>;
  filtered_by_reason: Record<string, number>;
  rejected_by_reason: Record<string, number>;
  allowlist_hits: Record<string, number>;
  first_rejections: { line: number; reason: string }[];
  buckets_closed: number;
  records: number;
  alerts: number;
  suppressed: number;
  users: number;
  pairs: number;
  memory_bytes: number;
  open_bucket: number | null;
}

/** An ECS authentication event (nested or dotted keys both work). */
export type AuthEventInput = Record<string, unknown>;

export class Detector {
  free(): void;
  /** Throws an Error naming the invalid field. */
  constructor(config?: DetectorConfig | string | null);
  /** One event (or an array) → its verdict (or an array); unusable input gives a Rejection. */
  push(event: AuthEventInput): Verdict | Rejection;
  push(events: AuthEventInput[]): (Verdict | Rejection)[];
  /** NDJSON in, NDJSON out (alerts, records or verdicts per `output`). The fast path. */
  pushNdjson(input: Uint8Array | string): Uint8Array;
  /** Closes buckets that ended by `nowMs`; NDJSON of their records/alerts. */
  advance(nowMs: number): Uint8Array;
  /** Closes the open bucket; NDJSON of its records/alerts. */
  flush(): Uint8Array;
  /** `elastic` profile: NDJSON of `{result_type: "record_update", …}` for records of the last 30
   * days whose record_score moved with the normaliser (initial_record_score never changes). */
  renormalize(): Uint8Array;
  /** Versioned, checksummed model state. */
  snapshot(): Uint8Array;
  /** Throws on corrupt, truncated or other-version bytes. `options.output` may change what
   * pushNdjson returns; every model setting comes from the snapshot. */
  static restore(bytes: Uint8Array, options?: { output?: "alerts" | "records" | "verdicts" }): Detector;
  /** What pushNdjson returns. In "verdicts" mode, flush() and advance() still return the alerts
   * of the buckets they close. */
  readonly output: "alerts" | "records" | "verdicts";
  stats(): Stats;
  /** Analyst feedback: `network` (address or CIDR) is fine for `user`; never scored for them again. */
  markBenign(user: string, network: string): void;
  /** What the model knows about a user. */
  explain(user: string): Record<string, unknown>;
  /** The alert threshold in force. */
  readonly threshold: number;
}

/** The plugin manifest (pkg.json). */
export function manifest(): Record<string, unknown>;

