//! The engine: one [`Detector`] owns all job state and is driven by events and by time.

use crate::FastMap as HashMap;

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::config::{glob_match, OutputFormat};
use crate::config::{Config, OutputKind, Profile, RARE_SOURCE_IP_JOB};
use crate::error::{Error, Result};
use crate::event::{AuthEvent, LineEvent, Outcome};
use crate::ingest::detect::InputFormat;
use crate::ingest::syslog::{SyslogOutcome, SyslogParser};
use crate::ingest::windows::{event_from_windows_json, winlogbeat_event_into};
use crate::ingest::{event_from_json_unknown_layout, parse_line_into, LineShapes, RejectReason, Rejection};
use crate::manifest::{Manifest, RuleSpec};
use crate::model::compact::clear_for_reuse;
use crate::model::elastic_rare::ElasticRareState;
use crate::model::rare_ip::{
    name_prefix, probability_surely_scoring_below, probability_to_score, AssessContext, Assessment, AssessmentState,
    ModelLimits, RareIpModel, Texts, BUCKETS_PER_DAY, BUCKET_MS, RECORD_MIN_SCORE,
};
use crate::net::{is_unusable_source, Cidr, IpKey};
use crate::output::{
    alert_document, severity_label, AnomalyRecord, Influencer, JobEvidence, JobVerdict, RejectionDoc, ScoreExplanation,
    Verdict,
};
use crate::related::{EnabledJobs, Feed, RelatedJobs, RelatedLimits, FAILS_JOB, RARE_HOUR_JOB, SOURCE_IP_SPIKE_JOB};
use crate::snapshot;
use crate::stats::Stats;
use crate::time::{bucket_start, format_rfc3339_ms};

mod sightings;
use sightings::{OpenSightings, Sighting};

/// `rare_ip`'s ceiling for a known address's score (its `FAMILIAR_CEILING`).
const KNOWN_ADDRESS_CEILING: f64 = 40.0;

/// Undelivered records kept for a host that has not collected them yet.
const MAX_PENDING_RECORDS: usize = 10_000;
/// A network (/16, v6 /48) the user has used on at most this many days is "new to them": an
/// unusual hour from it is a trip's time zone, and the trip is the rare-address job's to alert on.
const TRIP_NETWORK_MAX_DAYS: u16 = 3;

/// Why an event did not feed a job (its datafeed filter).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FilterReason {
    /// `event.category` lacks `authentication`.
    NotAuthentication,
    /// `event.outcome` is not the job's.
    OutcomeMismatch,
    /// `process.name` is an Elastic Agent / Beats process.
    ExcludedProcess,
    /// No `source.ip` (the by field).
    NoSourceIp,
    /// `source.ip` is loopback, link-local or unspecified: a local logon.
    UnusableSourceIp,
}

impl FilterReason {
    /// Every reason, in the order of their counters.
    const ALL: [FilterReason; 5] = [
        FilterReason::NotAuthentication,
        FilterReason::OutcomeMismatch,
        FilterReason::ExcludedProcess,
        FilterReason::NoSourceIp,
        FilterReason::UnusableSourceIp,
    ];

    /// Code used in stats.
    pub fn code(self) -> &'static str {
        match self {
            FilterReason::NotAuthentication => "not_authentication",
            FilterReason::OutcomeMismatch => "outcome_mismatch",
            FilterReason::ExcludedProcess => "excluded_process",
            FilterReason::NoSourceIp => "no_source_ip",
            FilterReason::UnusableSourceIp => "unusable_source_ip",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FilterReason::NotAuthentication => "event.category is not authentication",
            FilterReason::OutcomeMismatch => "event.outcome is not the one this job's datafeed takes",
            FilterReason::ExcludedProcess => "process.name is an Elastic Agent or Beats process",
            FilterReason::NoSourceIp => "no source.ip",
            FilterReason::UnusableSourceIp => "source.ip is loopback, link-local or unspecified (a local logon)",
        }
    }
}

/// An input line, parsed.
enum Parsed {
    /// An authentication event (in [`Detector::line_event`]), standing for this many attempts.
    Event(u32),
    /// A well-formed line that is not a logon (a session message, a logoff).
    NotALogon,
}

/// What a closed bucket (or `advance`/`flush`) produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// Anomaly records, in (bucket, user, address) order.
    pub records: Vec<AnomalyRecord>,
    /// Alert documents (records that crossed their rule's threshold and were not suppressed).
    pub alerts: Vec<serde_json::Value>,
}

impl Results {
    fn append(&mut self, other: Results) {
        self.records.extend(other.records);
        self.alerts.extend(other.alerts);
    }

    /// NDJSON of the alerts (`OutputKind::Alerts`) or of records then alerts.
    pub fn to_ndjson(&self, kind: OutputKind, out: &mut Vec<u8>) {
        if kind == OutputKind::Records {
            for r in &self.records {
                write_json_line(out, r);
            }
        }
        if kind != OutputKind::Verdicts {
            for a in &self.alerts {
                write_json_line(out, a);
            }
        }
    }
}

fn write_json_line<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    // Serialising our own plain data types cannot fail; skip the line rather than panic if it did.
    if serde_json::to_writer(&mut *out, value).is_ok() {
        out.push(b'\n');
    }
}

/// The serialisable state of a detector (what a snapshot holds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) model: RareIpModel,
    pub(crate) elastic: ElasticRareState,
    open_bucket: Option<i64>,
    sightings: OpenSightings,
    suppression: Vec<(String, String, i64)>,
    related: RelatedJobs,
    pub(crate) stats: Stats,
    lines: u64,
    last_prune_day: i64,
    last_closed_bucket: Option<i64>,
    /// Pairs analysts marked benign: (user, network, when marked — the stream clock then).
    benign: Vec<(String, Cidr, i64)>,
    /// Year inference of year-less syslog lines (created at the first syslog line).
    syslog: Option<SyslogParser>,
}

/// The detection engine (DESIGN §1): owns all job state, driven by events and by
/// [`Detector::advance`] / [`Detector::flush`], never by a clock of its own. The same input gives
/// the same output on every target.
#[derive(Debug)]
pub struct Detector {
    state: State,
    /// Rule and threshold in force, per job id.
    rules: HashMap<String, (RuleSpec, f64)>,
    threshold: f64,
    limits: ModelLimits,
    related_limits: RelatedLimits,
    /// The event of the NDJSON line at hand: one value for the whole stream, so that parsing a
    /// line reuses the previous line's strings instead of allocating its own.
    line_event: LineEvent,
    /// The layouts of the stream's recent ECS lines, so that a line of a known layout is read at
    /// its known places (`src/ingest/ecs_shape.rs`).
    line_shapes: LineShapes,
    /// (job id, key) → start of the bucket of the last alert.
    suppression_index: HashMap<(String, String), i64>,
    outbox: Results,
    /// What each configured job takes, in `config.jobs` order, and the datafeed's excluded
    /// process names: read per event, so decided once here rather than by comparing job ids.
    routes: JobRoutes,
    /// Bucket close's sort keys (see [`bucket_order`]), kept for their capacity. Transient (one
    /// bucket close), so not counted in `memory_bytes`; a burst's room is given back.
    close_order: Vec<u128>,
    /// A known address whose probability is above this scores below the record floor (adaptive
    /// profile; see [`Detector::surely_unrecorded`]).
    known_address_p_floor: f64,
    /// Counts of the `push_ndjson` or `push` call at hand, added to `stats` (string-keyed maps,
    /// dear per event) when it returns; zero between calls. Lines per input format:
    lines_by_format: [u64; InputFormat::ALL.len()],
    /// Events each configured job (`config.jobs` order) did not take, per [`FilterReason`]:
    filtered_by_job: Vec<[u64; FilterReason::ALL.len()]>,
    /// Whether the rare-IP job's records that do not alert are wanted. False only during a
    /// `push_ndjson` call whose output is alerts: it would drop them unread, so they are counted
    /// but not built (their evidence texts were most of a record's cost).
    records_wanted: bool,
}

/// Which events each configured job takes (its datafeed), decided from the job ids once.
#[derive(Debug)]
struct JobRoutes {
    /// Per job of `config.jobs`, in order: what its datafeed asks of an event.
    takes: Vec<Takes>,
    /// The rare-address job is configured.
    rare_source_ip: bool,
    /// Which related jobs are configured.
    related: EnabledJobs,
    /// Process names the shared datafeed query excludes (Elastic Agent and Beats).
    excluded_processes: &'static [String],
    /// Bit `min(length, 63)` set for the length of each excluded name: most events' process
    /// names are ruled out by their length alone, without a pass over the list.
    excluded_lengths: u64,
}

/// The bit of [`JobRoutes::excluded_lengths`] for a name of `len` bytes.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// What one job's datafeed asks of an authentication event.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Takes {
    /// Failures only (`auth_high_count_logon_fails`).
    Failures,
    /// Successes with a usable `source.ip` (the rare-address and per-source spike jobs).
    SuccessesFromAnAddress,
    /// Successes.
    Successes,
}

impl JobRoutes {
    fn new(jobs: &[String]) -> JobRoutes {
        let takes = jobs
            .iter()
            .map(|j| match j.as_str() {
                FAILS_JOB => Takes::Failures,
                RARE_SOURCE_IP_JOB | SOURCE_IP_SPIKE_JOB => Takes::SuccessesFromAnAddress,
                _ => Takes::Successes,
            })
            .collect();
        let excluded_processes = Manifest::embedded()
            .job(RARE_SOURCE_IP_JOB)
            .map_or(&[][..], |spec| spec.datafeed.exclude_process_names.as_slice());
        JobRoutes {
            takes,
            rare_source_ip: jobs.iter().any(|j| j == RARE_SOURCE_IP_JOB),
            related: EnabledJobs::from_jobs(jobs),
            excluded_processes,
            excluded_lengths: excluded_processes.iter().fold(0, |bits, p| bits | length_bit(p.len())),
        }
    }
}

impl Detector {
    /// A detector with this configuration.
    pub fn new(config: Config) -> Result<Detector> {
        let state = State {
            config,
            model: RareIpModel::default(),
            elastic: ElasticRareState::default(),
            open_bucket: None,
            sightings: OpenSightings::default(),
            suppression: Vec::new(),
            related: RelatedJobs::default(),
            stats: Stats::default(),
            lines: 0,
            last_prune_day: i64::MIN,
            last_closed_bucket: None,
            benign: Vec::new(),
            syslog: None,
        };
        Detector::from_state(state)
    }

    pub(crate) fn from_state(mut state: State) -> Result<Detector> {
        let manifest = Manifest::embedded();
        let mut rules = HashMap::default();
        for job in &state.config.jobs {
            let rule = manifest
                .rule_for_job(job)
                .cloned()
                .ok_or_else(|| Error::Manifest(format!("no rule for job {job}")))?;
            let threshold = state.config.anomaly_threshold.unwrap_or(rule.anomaly_threshold);
            rules.insert(job.clone(), (rule, threshold));
        }
        let threshold = state
            .config
            .anomaly_threshold
            .or(manifest.rule_for_job(RARE_SOURCE_IP_JOB).map(|r| r.anomaly_threshold))
            .unwrap_or(75.0);
        state.model.rebuild_index();
        let limits = ModelLimits {
            learning_days: state.config.learning_days,
            min_active_days: state.config.min_active_days,
            max_addresses_per_user: state.config.max_addresses_per_user,
            prune_buckets: (state.config.model_prune_window_ms / BUCKET_MS).clamp(1, i32::MAX as i64) as i32,
        };
        let suppression_index = state
            .suppression
            .iter()
            .map(|(j, k, t)| ((j.clone(), k.clone()), *t))
            .collect();
        let related_limits = RelatedLimits {
            learning_days: state.config.learning_days,
            min_active_days: state.config.min_active_days,
            prune_days: (state.config.model_prune_window_ms / crate::time::DAY_MS).clamp(1, 36_500) as i32,
            failed_spike_min_distinct_users: state.config.failed_spike_min_distinct_users,
        };
        let routes = JobRoutes::new(&state.config.jobs);
        Ok(Detector {
            routes,
            close_order: Vec::new(),
            lines_by_format: [0; InputFormat::ALL.len()],
            filtered_by_job: vec![[0; FilterReason::ALL.len()]; state.config.jobs.len()],
            records_wanted: true,
            // score = half the scale's score (below its ceiling); a floor of 0 or less has no
            // probability above which it surely holds.
            known_address_p_floor: match RECORD_MIN_SCORE.min(threshold) {
                floor if floor > 0.0 => probability_surely_scoring_below(2.0 * floor),
                _ => f64::INFINITY,
            },
            state,
            rules,
            threshold,
            limits,
            related_limits,
            line_event: LineEvent::default(),
            line_shapes: LineShapes::default(),
            suppression_index,
            outbox: Results::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// Changes what [`Detector::push_ndjson`] returns (the only setting that may change on a
    /// running or restored detector: it does not touch the model).
    pub fn set_output(&mut self, kind: OutputKind) {
        self.state.config.output = kind;
    }

    /// The alert threshold in force for the rare-source-IP rule.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Counters and sizes (DESIGN §2: every input accounted for).
    pub fn stats(&self) -> Stats {
        let mut s = self.state.stats.clone();
        s.users = self.state.model.user_count() as u64;
        s.pairs = self.state.model.pairs as u64;
        s.memory_bytes = self.memory_bytes() as u64;
        s.open_bucket = self.state.open_bucket;
        s
    }

    fn memory_bytes(&self) -> usize {
        self.state.model.memory_bytes()
            + self.state.elastic.memory_bytes()
            + self.state.related.memory_bytes()
            + self.state.sightings.memory_bytes()
            + crate::model::compact::table_capacity(self.suppression_index.len()) * 40
    }

    /// Feeds one event; returns its verdict. Records and alerts of buckets this event closes are
    /// kept until the next [`Detector::take_results`], [`Detector::advance`] or [`Detector::flush`].
    pub fn push(&mut self, event: &AuthEvent) -> Verdict {
        self.state.stats.events += 1;
        self.state.lines += 1;
        let line = self.state.lines;
        let verdict = self.push_parsed(event, line, true);
        self.add_pending_counts();
        verdict
    }

    /// Adds the counts kept in arrays during a call (lines per format, events each job did not
    /// take per reason) to `stats`' maps, and zeroes them.
    fn add_pending_counts(&mut self) {
        for (format, pending) in InputFormat::ALL.into_iter().zip(&mut self.lines_by_format) {
            let lines = std::mem::take(pending);
            if lines > 0 {
                add_keyed(&mut self.state.stats.events_by_format, &[format.as_str()], lines);
            }
        }
        for (job, pending) in self.state.config.jobs.iter().zip(&mut self.filtered_by_job) {
            for (reason, count) in FilterReason::ALL.into_iter().zip(pending.iter_mut()) {
                let n = std::mem::take(count);
                if n > 0 {
                    add_keyed(&mut self.state.stats.filtered_by_reason, &[job, ":", reason.code()], n);
                }
            }
        }
    }

    /// Feeds NDJSON bytes (one ECS document a line; a trailing partial line is processed as a
    /// line). Returns NDJSON per the configured output: alerts, records (+alerts), or one verdict
    /// or rejection per line. With alerts out, the rare-IP job's records that do not alert are
    /// counted in `stats().records` but not built (they would not be written): the same alerts
    /// and counts as with records out, at a fraction of the cost.
    pub fn push_ndjson(&mut self, bytes: &[u8]) -> Vec<u8> {
        let kind = self.state.config.output;
        self.records_wanted = kind != OutputKind::Alerts;
        let mut out = Vec::new();
        // One UTF-8 validation for the whole chunk (see `ingest::text_within`).
        let chunk_text = crate::ingest::line_text(bytes).ok();
        for raw in split_lines(bytes) {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.state.stats.events += 1;
            self.state.lines += 1;
            let n = self.state.lines;
            let parsed = if line.len() > self.state.config.max_line_bytes {
                Err(RejectReason::LineTooLong)
            } else {
                self.parse_any(line, crate::ingest::text_within(chunk_text, bytes, line))
            };
            match parsed {
                Ok(Parsed::Event(repeat)) => {
                    // Taken out for the call and put back, so its strings serve the next line.
                    let ev = std::mem::take(&mut self.line_event.event);
                    // `message repeated N times` stands for N attempts: N events.
                    self.state.stats.events += u64::from(repeat.saturating_sub(1));
                    // Verdicts (evidence, reason sentences) cost more than the detection itself:
                    // build them only when they are the output.
                    let want = kind == OutputKind::Verdicts;
                    let v = self.push_parsed(&ev, n, want);
                    for _ in 1..repeat {
                        self.push_parsed(&ev, n, false);
                    }
                    self.line_event.event = ev;
                    if kind == OutputKind::Verdicts {
                        write_json_line(&mut out, &v);
                    }
                }
                Ok(Parsed::NotALogon) => {
                    self.state.stats.filtered += 1;
                    bump_keyed(&mut self.state.stats.filtered_by_reason, &["input:not_a_logon"]);
                    if kind == OutputKind::Verdicts {
                        write_json_line(&mut out, &serde_json::json!({"line": n, "filtered": "not_a_logon"}));
                    }
                }
                Err(reason) => {
                    self.reject(Rejection { line: n, reason });
                    if kind == OutputKind::Verdicts {
                        write_json_line(
                            &mut out,
                            &RejectionDoc {
                                line: n,
                                rejected: reason.code().into(),
                                message: reason.describe().into(),
                            },
                        );
                    }
                }
            }
        }
        self.add_pending_counts();
        // Verdicts mode answers per event; the alerts of buckets these lines closed wait for the
        // next advance()/flush()/take_results() (bounded: see `cap_outbox`).
        if kind == OutputKind::Verdicts {
            self.cap_outbox();
        } else {
            let results = self.take_results();
            results.to_ndjson(kind, &mut out);
        }
        self.records_wanted = true;
        out
    }

    /// Keeps undelivered results bounded for hosts that never collect them: at most
    /// `MAX_PENDING_RECORDS` records (oldest dropped first; alerts are kept).
    fn cap_outbox(&mut self) {
        let n = self.outbox.records.len();
        if n > MAX_PENDING_RECORDS {
            self.outbox.records.drain(..n - MAX_PENDING_RECORDS);
        }
    }

    /// One input line in whatever format it is (config `format`, or recognised per line);
    /// `known_text`: the line as text, when its chunk's validation has already shown it valid.
    fn parse_any(&mut self, line: &[u8], known_text: Option<&str>) -> std::result::Result<Parsed, RejectReason> {
        // In a stream of mixed formats, a line of a known ECS layout is recognised by its layout,
        // which says what sniffing it would (see `LineShapes::read_known`), without a scan for
        // winlogbeat keys. What is not certain is sniffed as usual.
        let mut layout_missed = false;
        let mut valid_text = None;
        if self.state.config.format == InputFormat::Auto {
            if let Ok(text) = known_text.map_or_else(|| crate::ingest::line_text(line), Ok) {
                valid_text = Some(text);
                match self.line_shapes.read_known(text, &mut self.line_event) {
                    Some(known) if known.sniffs_ecs => {
                        self.lines_by_format[InputFormat::Ecs.index()] += 1;
                        return known.result.map(|()| Parsed::Event(1));
                    }
                    Some(_) => {}
                    None => layout_missed = true,
                }
            }
        }
        let format = self.state.config.format.resolve(line);
        self.lines_by_format[format.index()] += 1;
        match format {
            InputFormat::Syslog => {
                let reference = self
                    .state
                    .config
                    .reference_time_ms
                    .or(self.state.open_bucket)
                    .unwrap_or(0);
                let offset = self.state.config.syslog_utc_offset_minutes;
                let parser = self
                    .state
                    .syslog
                    .get_or_insert_with(|| SyslogParser::new(reference).with_utc_offset_minutes(offset));
                match parser.parse_bytes(line) {
                    SyslogOutcome::Event { event, repeat } => {
                        self.line_event.replace(event);
                        Ok(Parsed::Event(repeat.max(1)))
                    }
                    SyslogOutcome::NotAuthentication => Ok(Parsed::NotALogon),
                    SyslogOutcome::Unparsable(e) => Err(e.reject_reason()),
                }
            }
            InputFormat::Evtx => {
                let text = match valid_text {
                    Some(text) => text,
                    None => crate::ingest::line_text(line)?,
                };
                // Winlogbeat lines in one pass; what the fast path is not sure of (evtx records,
                // odd shapes) goes through a `Value`.
                let is_logon = match winlogbeat_event_into(text, &mut self.line_event) {
                    Some(answer) => answer?,
                    None => {
                        let value: serde_json::Value =
                            serde_json::from_str(text).map_err(|_| RejectReason::InvalidJson)?;
                        match event_from_windows_json(&value)? {
                            Some(ev) => {
                                self.line_event.replace(ev);
                                true
                            }
                            None => false,
                        }
                    }
                };
                Ok(if is_logon { Parsed::Event(1) } else { Parsed::NotALogon })
            }
            InputFormat::Ecs | InputFormat::Auto => match valid_text {
                // No kept layout matched just now: straight to the scanner (which learns it).
                Some(text) if layout_missed => {
                    event_from_json_unknown_layout(text, &mut self.line_event, Some(&mut self.line_shapes))
                }
                _ => parse_line_into(line, &mut self.line_event, Some(&mut self.line_shapes)),
            }
            .map(|()| Parsed::Event(1)),
        }
    }

    /// Counts an input the host could not even hand over as an event (e.g. a JS value that is not
    /// an object); returns its line number.
    pub fn count_rejection(&mut self, reason: RejectReason) -> u64 {
        self.state.stats.events += 1;
        self.state.lines += 1;
        let line = self.state.lines;
        self.reject(Rejection { line, reason });
        line
    }

    fn reject(&mut self, r: Rejection) {
        self.state.stats.rejected += 1;
        bump_keyed(&mut self.state.stats.rejected_by_reason, &[r.reason.code()]);
        if self.state.stats.first_rejections.len() < 10 {
            self.state.stats.first_rejections.push(r);
        }
    }

    /// Records and alerts produced since the last call.
    pub fn take_results(&mut self) -> Results {
        std::mem::take(&mut self.outbox)
    }

    /// The datafeed query shared by every job: authentication, outcome, Elastic Agent/Beats
    /// processes excluded. Returns which outcome-feed the event belongs to.
    fn base_filter(e: &AuthEvent, routes: &JobRoutes) -> std::result::Result<Feed, FilterReason> {
        if !e.is_authentication {
            return Err(FilterReason::NotAuthentication);
        }
        let feed = match e.outcome() {
            Outcome::Success => Feed::Success,
            Outcome::Failure => Feed::Failure,
            Outcome::Unknown => return Err(FilterReason::OutcomeMismatch),
        };
        if let Some(p) = &e.process_name {
            if routes.excluded_lengths & length_bit(p.len()) != 0 && routes.excluded_processes.iter().any(|x| x == p) {
                return Err(FilterReason::ExcludedProcess);
            }
        }
        Ok(feed)
    }

    /// The rare-address job's by field: a usable `source.ip`. The address, not its key: the key
    /// is made where it is used (carried through the filters, its 16 bytes were copied a byte at
    /// a time).
    fn source_filter(e: &AuthEvent) -> std::result::Result<IpAddr, FilterReason> {
        let ip = e.source_ip.ok_or(FilterReason::NoSourceIp)?;
        if is_unusable_source(ip) {
            return Err(FilterReason::UnusableSourceIp);
        }
        Ok(ip)
    }

    /// Feeds one parsed event. `want_verdict`: build the verdict's per-job answers (the state
    /// changes are the same either way).
    fn push_parsed(&mut self, e: &AuthEvent, line: u64, want_verdict: bool) -> Verdict {
        // Without `want_verdict` the verdict is thrown away: leave its text empty (no allocation).
        let mut verdict = if want_verdict {
            Verdict {
                timestamp: format_rfc3339_ms(e.timestamp_ms),
                line: Some(line),
                user_name: e.user_name.clone(),
                source_ip: e.source_ip.map(|ip| ip.to_string()),
                outcome: e.outcome().as_str().to_string(),
                jobs: Vec::new(),
                max_score: 0.0,
                alert: false,
            }
        } else {
            Verdict {
                timestamp: String::new(),
                line: Some(line),
                user_name: String::new(),
                source_ip: None,
                outcome: String::new(),
                jobs: Vec::new(),
                max_score: 0.0,
                alert: false,
            }
        };
        // Time first: an event too far from the stream clock is rejected before touching state.
        let b = bucket_start(e.timestamp_ms, BUCKET_MS);
        let mut bucket = b;
        // The clock: the open bucket, or — after advance()/flush() closed it — the bucket after the
        // last closed one, so a straggler never reopens (and double-counts) a closed bucket.
        let clock = self
            .state
            .open_bucket
            .or(self.state.last_closed_bucket.map(|c| c + BUCKET_MS));
        if let Some(open) = clock {
            if b < open {
                if open - b > self.state.config.max_lateness_ms {
                    self.reject(Rejection {
                        line,
                        reason: RejectReason::TooLate,
                    });
                    verdict.jobs.push(rejected_job(RejectReason::TooLate));
                    return verdict;
                }
                self.state.stats.late += 1;
                bucket = open;
            } else if b - open > self.state.config.max_clock_step_ms {
                self.reject(Rejection {
                    line,
                    reason: RejectReason::TooFarInFuture,
                });
                verdict.jobs.push(rejected_job(RejectReason::TooFarInFuture));
                return verdict;
            }
        }
        // Which jobs take the event (each job's datafeed filter), and why the others do not.
        let base = Self::base_filter(e, &self.routes);
        let source = base.and_then(|_| Self::source_filter(e));
        let mut takers = 0;
        let jobs = &self.state.config.jobs;
        // By index: the job's id and counters are touched only when it does not take the event.
        for (i, &takes) in self.routes.takes.iter().enumerate() {
            let taken = match (takes, base) {
                (_, Err(reason)) => Err(reason),
                (Takes::Failures, Ok(Feed::Failure)) => Ok(()),
                (_, Ok(Feed::Failure)) | (Takes::Failures, Ok(Feed::Success)) => Err(FilterReason::OutcomeMismatch),
                (Takes::SuccessesFromAnAddress, Ok(_)) => source.map(|_| ()),
                (Takes::Successes, Ok(_)) => Ok(()),
            };
            match taken {
                Ok(()) => takers += 1,
                Err(reason) => {
                    if let Some(filtered) = self.filtered_by_job.get_mut(i) {
                        filtered[reason as usize] += 1;
                    }
                    if !want_verdict {
                        continue;
                    }
                    verdict.jobs.push(JobVerdict {
                        job_id: jobs.get(i).cloned().unwrap_or_default(),
                        state: "filtered".into(),
                        score: 0.0,
                        above_threshold: false,
                        is_interim: false,
                        reason: reason.describe().into(),
                        evidence: None,
                    });
                }
            }
        }
        if takers == 0 {
            self.state.stats.filtered += 1;
            return verdict;
        }
        self.state.stats.accepted += 1;
        self.close_until(bucket);
        self.state.open_bucket = Some(bucket);
        let bucket_index = (bucket / BUCKET_MS) as i32;
        // With no related job configured, `observe` only dates the organisation's first day, once
        // (a date never reset): once dated, it would do nothing.
        let related_wanted = self.routes.related != EnabledJobs::default() || !self.state.related.is_dated();
        if let (Ok(feed), true) = (base, related_wanted) {
            let rules = &self.rules;
            let threshold = |j: &str| rules.get(j).map_or(75.0, |r| r.1);
            let related_source = source
                .ok()
                .filter(|_| self.routes.related.source_ip_spike)
                .map(IpKey::from_ip);
            let vs = self.state.related.observe(
                self.routes.related,
                feed,
                &e.user_name,
                related_source,
                e.host_name.as_deref(),
                e.timestamp_ms,
                bucket,
                &self.related_limits,
                &threshold,
                want_verdict,
            );
            // Nearly always empty (no verdict wanted): skip the extend and its drop.
            if !vs.is_empty() {
                verdict.jobs.extend(vs);
            }
        }
        let ip = match source {
            Ok(ip) if self.routes.rare_source_ip && base == Ok(Feed::Success) => IpKey::from_ip(ip),
            _ => {
                finish_verdict(&mut verdict);
                return verdict;
            }
        };
        let uid = self.state.model.intern(&e.user_name, bucket_index);
        if !want_verdict {
            self.state
                .sightings
                .record(uid, ip, e.timestamp_ms, e.host_name.as_deref());
            return verdict;
        }
        let assessment = self.assess(&e.user_name, uid, ip, bucket_index, true, Texts::Written);
        self.state
            .sightings
            .record(uid, ip, e.timestamp_ms, e.host_name.as_deref());
        let above = assessment.score >= self.threshold;
        verdict.jobs.insert(
            0,
            JobVerdict {
                job_id: RARE_SOURCE_IP_JOB.into(),
                state: state_name(assessment.evidence.state).into(),
                score: round2(assessment.score),
                above_threshold: above,
                is_interim: true,
                reason: assessment.evidence.reason.clone(),
                evidence: Some(JobEvidence::RareIp(assessment.evidence)),
            },
        );
        finish_verdict(&mut verdict);
        verdict
    }

    /// What configuration and analysts say about (user, address): allowlists, benign marks, known
    /// networks.
    fn context(&self, user_name: &str, uid: u32, ip: IpKey) -> AssessContext {
        let config = &self.state.config;
        let allow = if let Some(c) = config.allowlist.iter().find(|c| c.contains(ip)) {
            Some(format!("allowlisted network {}", format_cidr(c)))
        } else if let Some(p) = config.allowlist_users.iter().find(|p| glob_match(p, user_name)) {
            Some(format!("user matches allowlist pattern `{p}`"))
        } else {
            self.state
                .benign
                .iter()
                .find(|(u, c, _)| u == user_name && c.contains(ip))
                .map(|(_, c, t)| {
                    format!(
                        "{} was marked benign for this user on {}",
                        format_cidr(c),
                        format_rfc3339_ms(*t)
                    )
                })
        };
        let known_network = config
            .known_networks
            .iter()
            .find(|n| n.cidrs.iter().any(|c| c.contains(ip)))
            .map(|n| {
                let used = self
                    .state
                    .model
                    .user(uid)
                    .is_some_and(|u| u.addresses().any(|a| n.cidrs.iter().any(|c| c.contains(a.ip))));
                (n.name.clone(), used)
            });
        AssessContext { allow, known_network }
    }

    /// The assessment of (user, address) in a bucket, by the configured profile. `texts`:
    /// [`Texts::Skipped`] only with the adaptive profile (the Elastic one reads the adaptive
    /// assessment's evidence).
    fn assess(
        &self,
        user_name: &str,
        uid: u32,
        ip: IpKey,
        bucket_index: i32,
        interim: bool,
        texts: Texts,
    ) -> Assessment {
        let context = self.context(user_name, uid, ip);
        let adaptive =
            self.state
                .model
                .assess_adaptive(user_name, Some(uid), ip, bucket_index, &self.limits, &context, texts);
        match self.state.config.profile {
            Profile::Adaptive => adaptive,
            Profile::Elastic => self
                .state
                .elastic
                .assess(&self.state.model, uid, ip, bucket_index, adaptive, interim),
        }
    }

    /// Closes every bucket that ends at or before `now_ms` and returns what they produced (plus
    /// anything pending from earlier pushes).
    pub fn advance(&mut self, now_ms: i64) -> Results {
        if let Some(open) = self.state.open_bucket {
            if now_ms >= open + BUCKET_MS {
                self.close_open();
                self.state.open_bucket = None;
            }
        }
        self.take_results()
    }

    /// Closes the open bucket, whatever the time, and returns everything produced.
    pub fn flush(&mut self) -> Results {
        if self.state.open_bucket.is_some() {
            self.close_open();
            self.state.open_bucket = None;
        }
        self.take_results()
    }

    fn close_until(&mut self, bucket: i64) {
        if let Some(open) = self.state.open_bucket {
            if bucket > open {
                self.close_open();
                self.state
                    .elastic
                    .advance_buckets(((bucket - open) / BUCKET_MS - 1).clamp(0, u32::MAX as i64) as u32);
            }
        }
    }

    /// Scores the open bucket's sightings against the model, writes records and alerts, then
    /// learns from the bucket.
    fn close_open(&mut self) {
        let Some(open) = self.state.open_bucket else {
            return;
        };
        let bucket_index = (open / BUCKET_MS) as i32;
        self.state.last_closed_bucket = Some(open);
        let mut sightings = self.state.sightings.take();
        bucket_order(&self.state.model, &mut sightings, &mut self.close_order);
        self.state.stats.buckets_closed += 1;
        let elastic = self.state.config.profile == Profile::Elastic;
        // Adaptive scores against history before the bucket; Elastic samples the bucket first.
        if !elastic {
            self.score_bucket(open, bucket_index, &sightings);
        }
        let decay = if elastic {
            self.state.elastic.decay_factor()
        } else {
            1.0
        };
        let mut i = 0;
        let mut ips = Vec::new();
        while i < sightings.len() {
            let uid = sightings[i].user;
            ips.clear();
            while i < sightings.len() && sightings[i].user == uid {
                ips.push(sightings[i].ip);
                i += 1;
            }
            self.state
                .model
                .learn_bucket(uid, bucket_index, &ips, &self.limits, decay);
        }
        if elastic {
            self.state.elastic.advance_buckets(1);
            let pairs: Vec<(u32, IpKey)> = sightings.iter().map(|s| (s.user, s.ip)).collect();
            self.state.elastic.observe_bucket(&self.state.model, &pairs);
            self.score_bucket(open, bucket_index, &sightings);
        }
        self.state.sightings.close(sightings);
        let related = self
            .state
            .related
            .close(self.routes.related, open, &self.related_limits);
        let mut results = Results::default();
        for r in related {
            self.state.stats.records += 1;
            let mut record = r.record;
            if record.job_id == RARE_HOUR_JOB {
                if let Some(why) = self.hour_explained_by_new_network(&record) {
                    // One alert per trip: the record stays (with why), the alert is withheld.
                    if let JobEvidence::Other(serde_json::Value::Object(ev)) =
                        &mut record.anomaly_score_explanation.evidence
                    {
                        ev.insert("alert_withheld".into(), serde_json::Value::String(why));
                    }
                    if self
                        .rules
                        .get(&record.job_id)
                        .is_some_and(|(_, t)| record.record_score >= *t)
                    {
                        self.state.stats.suppressed += 1;
                    }
                    results.records.push(record);
                    continue;
                }
            }
            self.apply_rule(open, record, r.suppression_key, &mut results);
        }
        self.outbox.append(results);
        self.enforce_memory_limit();
        let day = open.div_euclid(crate::time::DAY_MS);
        if day != self.state.last_prune_day {
            self.state.last_prune_day = day;
            self.state.related.prune(open, &self.related_limits);
            self.state.model.prune(bucket_index, self.limits.prune_buckets);
            let config = &self.state.config;
            self.suppression_index
                .retain(|(job, _), t| open - *t < config.suppression_window_for(job));
        }
    }

    /// Why a rare-hour record should not alert, if its logon came from a network the user has used
    /// on at most [`TRIP_NETWORK_MAX_DAYS`] days: someone on a trip logs on at hours that are
    /// unusual in UTC because their time zone moved, and the new network is the rare-address job's
    /// to judge (its alert, if any, is the trip's one alert). An off-hours logon from a usual
    /// address still alerts.
    fn hour_explained_by_new_network(&self, record: &AnomalyRecord) -> Option<String> {
        let name = record.user_name.first()?;
        let user = self.state.model.user(self.state.model.user_id(name)?)?;
        record.source_ip.iter().find_map(|ip| {
            let key = IpKey::from_ip(ip.parse().ok()?);
            let site = key.network(crate::net::NetLevel::Site);
            let days = user.network(site, crate::net::NetLevel::Site).map_or(0, |n| n.days_seen);
            (days <= TRIP_NETWORK_MAX_DAYS).then(|| {
                format!(
                    "{ip} is in a network {name} has used on {days} day(s): a new place, whose time zone explains the hour; the rare-address job judges the place"
                )
            })
        })
    }

    /// Keeps the model under `model_memory_limit`: a cheap estimate every bucket, the exact count
    /// and eviction (to 80 % of the limit: eviction is not repeated every bucket) only when close.
    fn enforce_memory_limit(&mut self) {
        let limit = self.state.config.model_memory_limit_bytes as usize;
        let model = &self.state.model;
        let estimate = model.users.len() * 160 + model.pairs * 100 + self.state.related.memory_bytes_estimate();
        if estimate < limit * 8 / 10 || self.memory_bytes() <= limit {
            return;
        }
        // Caches first: the related jobs' kept address buckets.
        self.state.related.release_spare();
        let target = limit * 8 / 10;
        // Split the budget by current share so neither side starves the other.
        let ip_bytes = self.state.model.memory_bytes();
        let related_bytes = self.state.related.memory_bytes();
        let total = (ip_bytes + related_bytes).max(1);
        let evicted = self.state.model.evict(target * ip_bytes / total)
            + self.state.related.evict(target * related_bytes / total);
        self.state.stats.evictions += evicted as u64;
    }

    fn score_bucket(&mut self, open: i64, bucket_index: i32, sightings: &[Sighting]) {
        let mut results = Results::default();
        for s in sightings {
            let Some(user) = self.state.model.user(s.user) else {
                continue;
            };
            // Most sightings are of known addresses or of users still learning and produce no
            // record: rule them out with the score alone before building any evidence text.
            if self.surely_unrecorded(s.user, &s.ip, bucket_index) {
                #[cfg(debug_assertions)]
                {
                    let a = self.assess(user.name(), s.user, s.ip, bucket_index, false, Texts::Written);
                    assert!(
                        !self.record_worthy(&a),
                        "surely_unrecorded disagrees with assess for {} / {}: {a:?}",
                        user.name(),
                        s.ip
                    );
                }
                continue;
            }
            let name = user.name().to_string();
            // Without the texts when only an alert would need them: the record is built below
            // only if it alerts.
            let texts = if self.records_wanted || self.state.config.profile != Profile::Adaptive {
                Texts::Written
            } else {
                Texts::Skipped
            };
            let mut a = self.assess(&name, s.user, s.ip, bucket_index, false, texts);
            #[cfg(debug_assertions)]
            if texts == Texts::Skipped {
                let full = self.assess(&name, s.user, s.ip, bucket_index, false, Texts::Written);
                assert!(
                    (
                        a.score,
                        a.probability,
                        a.evidence.state,
                        a.evidence.by_field_first_occurrence
                    ) == (
                        full.score,
                        full.probability,
                        full.evidence.state,
                        full.evidence.by_field_first_occurrence
                    ) && a.evidence.reason.is_empty() == (full.evidence.state != AssessmentState::Allowlisted),
                    "the assessment without texts disagrees with the full one for {name} / {}: {a:?} {full:?}",
                    s.ip
                );
            }
            if a.evidence.state == AssessmentState::Allowlisted {
                let why = a
                    .evidence
                    .reason
                    .split(": ")
                    .nth(1)
                    .unwrap_or("allowlisted")
                    .trim_end_matches("; not scored.");
                *self.state.stats.allowlist_hits.entry(why.to_string()).or_insert(0) += 1;
            }
            if !self.record_worthy(&a) {
                continue;
            }
            if texts == Texts::Skipped {
                let alerts = self
                    .rules
                    .get(RARE_SOURCE_IP_JOB)
                    .is_some_and(|(_, threshold)| round2(a.score) >= *threshold);
                if !alerts {
                    // Not an output (`push_ndjson` with alerts out drops records): counted only.
                    self.state.stats.records += 1;
                    continue;
                }
                a = self.assess(&name, s.user, s.ip, bucket_index, false, Texts::Written);
            }
            let probability = a.probability;
            let record = self.record(open, &name, s, a);
            if self.state.config.profile == Profile::Elastic {
                self.state
                    .elastic
                    .remember(open, &name, s.ip, probability, record.record_score);
            }
            self.state.stats.records += 1;
            // Per /24 (v6 /64), not per address: a trip's hotel hands out several addresses of one
            // subnet, sometimes in one bucket, and that is one place.
            let mut key = String::with_capacity(name.len() + 16);
            key.push_str(&name);
            key.push('\u{0}');
            crate::text::push_ip(&mut key, s.ip.network(crate::net::NetLevel::Subnet));
            self.apply_rule(open, record, key, &mut results);
        }
        self.outbox.append(results);
    }

    /// Whether a closed-bucket assessment becomes an anomaly record.
    fn record_worthy(&self, a: &Assessment) -> bool {
        match self.state.config.profile {
            Profile::Adaptive => {
                a.evidence.state != AssessmentState::Learning
                    && a.evidence.state != AssessmentState::Allowlisted
                    && (a.evidence.by_field_first_occurrence || a.score >= RECORD_MIN_SCORE.min(self.threshold))
            }
            Profile::Elastic => a.probability < crate::model::elastic_math::MAX_ANOMALOUS_PROBABILITY,
        }
    }

    /// True when the closed-bucket assessment of (user, address) certainly yields no record, decided
    /// from the numbers alone (no evidence, no text). False means "assess in full" (allowlisted
    /// pairs, new addresses, known addresses scoring high enough). Mirrors
    /// `RareIpModel::assess_adaptive` and `ElasticRareState::assess`; debug builds check every
    /// answer against them. The address by reference: passed by value, its 16 bytes were loaded
    /// one at a time for every sighting, whether read or not.
    fn surely_unrecorded(&self, uid: u32, ip: &IpKey, bucket_index: i32) -> bool {
        let config = &self.state.config;
        // The name is only read (a UTF-8 check of the packed bytes) when a name rule exists.
        let user_name = || self.state.model.user(uid).map_or("", |u| u.name());
        let allowlisted = config.allowlist.iter().any(|c| c.contains(*ip))
            || config.allowlist_users.iter().any(|p| glob_match(p, user_name()))
            || self
                .state
                .benign
                .iter()
                .any(|(u, c, _)| u == user_name() && c.contains(*ip));
        if allowlisted {
            // Counted in `allowlist_hits` from the reason text: take the full path.
            return false;
        }
        let model = &self.state.model;
        match config.profile {
            Profile::Elastic => {
                ElasticRareState::probability(model, uid, *ip, false)
                    >= crate::model::elastic_math::MAX_ANOMALOUS_PROBABILITY
            }
            Profile::Adaptive => {
                let Some(user) = model.user(uid) else {
                    return true;
                };
                let learning = user.history_days(bucket_index) < self.limits.learning_days
                    || user.active_days < self.limits.min_active_days;
                if learning {
                    return true;
                }
                let Some(a) = user.address(*ip) else {
                    // A first occurrence is always recorded.
                    return false;
                };
                // Without the decay's power and the score's logarithm first: 2^-x >= 1 - x ln 2
                // (convexity), so this probability is at most the one below; above the floor, the
                // score is surely under the record floor. Otherwise decide exactly.
                let idle_days = (i64::from(bucket_index) - i64::from(a.last_bucket)) as f64 / BUCKETS_PER_DAY as f64;
                let decay_at_least = (1.0 - idle_days / 30.0 * std::f64::consts::LN_2).max(0.0);
                let p_at_least =
                    ((a.days_seen as f64 * decay_at_least + 0.5) / (user.active_days as f64 + 1.0)).min(1.0);
                if p_at_least > self.known_address_p_floor {
                    return true;
                }
                let effective = a.days_seen as f64 * 0.5f64.powf(idle_days / 30.0);
                let p = ((effective + 0.5) / (user.active_days as f64 + 1.0)).min(1.0);
                let score = (0.5 * probability_to_score(p)).min(KNOWN_ADDRESS_CEILING);
                score < RECORD_MIN_SCORE.min(self.threshold)
            }
        }
    }

    /// The rule layer: a record at or above its rule's threshold becomes an alert unless one was
    /// raised for the same (rule, key) within the suppression window.
    fn apply_rule(&mut self, open: i64, record: AnomalyRecord, key: String, results: &mut Results) {
        if let Some((rule, threshold)) = self.rules.get(&record.job_id) {
            if record.record_score >= *threshold {
                let key = (record.job_id.clone(), key);
                let window = self.state.config.suppression_window_for(&record.job_id);
                let suppressed = window > 0 && self.suppression_index.get(&key).is_some_and(|&t| open - t < window);
                if suppressed {
                    self.state.stats.suppressed += 1;
                } else {
                    self.suppression_index.insert(key, open);
                    self.state.stats.alerts += 1;
                    let alert = alert_document(&record, rule, *threshold);
                    results.alerts.push(match self.state.config.output_format {
                        OutputFormat::Elastic => alert,
                        OutputFormat::Ocsf => {
                            let reason = alert["kibana.alert.reason"].as_str().unwrap_or_default().to_string();
                            crate::ocsf::detection_finding(&record, rule, *threshold, &reason)
                        }
                    });
                }
            }
        }
        results.records.push(record);
    }

    /// The record of a sighting. Takes the assessment: its evidence moves into the record.
    fn record(&self, open: i64, user: &str, s: &Sighting, a: Assessment) -> AnomalyRecord {
        let ip = String::from(s.ip.text().as_str());
        let score = round2(a.score);
        let mut influencers = vec![
            Influencer {
                influencer_field_name: "source.ip".into(),
                influencer_field_values: vec![ip.clone()],
            },
            Influencer {
                influencer_field_name: "user.name".into(),
                influencer_field_values: vec![user.to_string()],
            },
        ];
        let hosts = self.state.sightings.hosts(s);
        if !hosts.is_empty() {
            influencers.push(Influencer {
                influencer_field_name: "host.name".into(),
                influencer_field_values: hosts.clone(),
            });
        }
        let profile = match self.state.config.profile {
            Profile::Adaptive => "adaptive",
            Profile::Elastic => "elastic",
        };
        AnomalyRecord {
            job_id: RARE_SOURCE_IP_JOB.into(),
            result_type: "record".into(),
            probability: a.probability,
            record_score: score,
            initial_record_score: score,
            severity: severity_label(score).into(),
            bucket_span: (BUCKET_MS / 1000) as u32,
            detector_index: 0,
            is_interim: false,
            multi_bucket_impact: None,
            timestamp: open,
            function: "rare".into(),
            function_description: "rare".into(),
            by_field_name: "source.ip".into(),
            by_field_value: ip.clone(),
            partition_field_name: "user.name".into(),
            partition_field_value: user.to_string(),
            typical: vec![a.probability],
            actual: vec![1.0],
            influencers,
            anomaly_score_explanation: ScoreExplanation {
                by_field_first_occurrence: a.evidence.by_field_first_occurrence,
                by_field_relative_rarity: self.state.elastic.relative_rarity(&self.state.model, s.user, s.ip),
                profile: profile.into(),
                evidence: JobEvidence::RareIp(a.evidence),
            },
            event_count: s.count,
            first_event_time: s.first_time,
            source_ip: vec![ip],
            user_name: vec![user.to_string()],
            host_name: hosts,
        }
    }

    /// Analyst feedback: `network` (an address or CIDR) is fine for `user` — it is never scored for
    /// them again on the rare-address rule. Returns an error naming the value if it is not an
    /// address or CIDR block.
    pub fn mark_benign(&mut self, user: &str, network: &str) -> Result<()> {
        let cidr = Cidr::parse(network).ok_or_else(|| Error::Config {
            field: "markBenign.network".into(),
            message: format!("`{network}` is not an address or CIDR block"),
        })?;
        let when = self.state.open_bucket.or(self.state.last_closed_bucket).unwrap_or(0);
        if !self.state.benign.iter().any(|(u, c, _)| u == user && *c == cidr) {
            self.state.benign.push((user.to_string(), cidr, when));
        }
        Ok(())
    }

    /// `elastic` profile: re-scores the records of the last 30 days against the normaliser's
    /// current quantiles and returns those whose `record_score` moved (Elastic's renormalisation;
    /// `initial_record_score` never changes). Empty for the `adaptive` profile, whose scores are final.
    pub fn renormalize(&mut self) -> Vec<crate::model::elastic_rare::RenormalizedRecord> {
        match (
            self.state.config.profile,
            self.state.open_bucket.or(self.state.last_closed_bucket),
        ) {
            (Profile::Elastic, Some(now)) => self.state.elastic.renormalize(now, RARE_SOURCE_IP_JOB),
            _ => Vec::new(),
        }
    }

    /// What the model knows about a user, as JSON (for `explain(user)`): their addresses and
    /// networks with counts and first/last seen, and their learning state.
    pub fn explain(&self, user: &str) -> serde_json::Value {
        let mut v = self.state.model.explain_user(user, &self.limits);
        if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), self.state.related.explain_user(user))
        {
            obj.extend(more);
        }
        v
    }

    /// Serialises the whole state (versioned, checksummed; see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut state = self.state.clone();
        let mut supp: Vec<(String, String, i64)> = self
            .suppression_index
            .iter()
            .map(|((j, k), &t)| (j.clone(), k.clone(), t))
            .collect();
        crate::sort::sort(&mut supp);
        state.suppression = supp;
        snapshot::encode(&state)
    }

    /// Rebuilds a detector from [`Detector::snapshot`] bytes. A corrupt, truncated or
    /// foreign-version snapshot is an error; nothing is reset silently.
    pub fn restore(bytes: &[u8]) -> Result<Detector> {
        let state: State = snapshot::decode(bytes)?;
        Detector::from_state(state)
    }
}

/// Low bits of a bucket close's sort key that hold the sighting's position (see [`bucket_order`]).
const KEY_POSITION_BITS: u32 = 32;

/// Sorts a bucket's sightings by user name (as bytes: the same order as `str`'s, without a UTF-8
/// check each), then address. (user, address) is unique in a bucket, so this is the one order.
///
/// The sort runs on 16-byte keys, not on the sightings: each key is the name's first 12 bytes as
/// a big-endian integer (zero-padded, so integer order is byte order wherever the prefixes
/// differ) above the sighting's position ([`KEY_POSITION_BITS`]). The keys are sorted as integers
/// (one comparison each, inlined), then each run of equal prefixes — one user's addresses, or
/// names that share 12 bytes — is sorted by whole name and address. The sightings are then put in
/// that order in place. `order` is scratch, kept for its capacity.
fn bucket_order(model: &RareIpModel, sightings: &mut [Sighting], order: &mut Vec<u128>) {
    let name = |s: &Sighting| model.user(s.user).map_or(&[][..], |u| u.name_bytes());
    let position = |key: u128| key as u32 as usize;
    let prefix = |key: u128| key >> KEY_POSITION_BITS;
    order.clear();
    // Positions fit: a bucket's sightings are indexed by u32 where they are recorded.
    order.extend(
        sightings
            .iter()
            .enumerate()
            .map(|(i, s)| name_prefix(name(s)) >> KEY_POSITION_BITS << KEY_POSITION_BITS | i as u128),
    );
    crate::sort::sort_short_by(order, |a, b| a < b);
    let mut run = 0;
    while run < order.len() {
        let shared = prefix(order[run]);
        let end = run + order[run..].iter().take_while(|&&k| prefix(k) == shared).count();
        if end - run > 1 {
            crate::sort::sort_by(&mut order[run..end], |&a, &b| {
                let (sa, sb) = (&sightings[position(a)], &sightings[position(b)]);
                // One user's addresses tie on the name without reading it.
                let by_name = if sa.user == sb.user {
                    std::cmp::Ordering::Equal
                } else {
                    name(sa).cmp(name(sb))
                };
                by_name.then(sa.ip.cmp(&sb.ip))
            });
        }
        run = end;
    }
    // Position i takes the sighting at order[i]: follow each cycle of the permutation once,
    // marking the places filled (all position bits set: no bucket holds that many sightings).
    let filled = u128::from(u32::MAX);
    for start in 0..order.len() {
        if order[start] & filled == filled {
            continue;
        }
        let first = sightings[start];
        let mut at = start;
        loop {
            let from = position(order[at]);
            order[at] |= filled;
            if from == start {
                sightings[at] = first;
                break;
            }
            sightings[at] = sightings[from];
            at = from;
        }
    }
    clear_for_reuse(order, sightings.len());
}

/// `bytes.split(|&b| b == b'\n')` (a final piece after the last newline included), with a
/// vectorised search for the newlines.
fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest?;
        Some(match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                &r[..i]
            }
            None => {
                rest = None;
                r
            }
        })
    })
}

/// `*map[parts.concat()] += 1`, allocating the key only the first time it is seen.
fn bump_keyed(map: &mut std::collections::BTreeMap<String, u64>, parts: &[&str]) {
    add_keyed(map, parts, 1);
}

/// `*map[parts.concat()] += n`, allocating the key only the first time it is seen.
fn add_keyed(map: &mut std::collections::BTreeMap<String, u64>, parts: &[&str], n: u64) {
    if let [key] = parts {
        // One part: no copy to make.
        match map.get_mut(*key) {
            Some(count) => *count += n,
            None => {
                map.insert(key.to_string(), n);
            }
        }
        return;
    }
    let mut buf = [0u8; 128];
    let mut len = 0;
    for p in parts {
        let Some(dst) = buf.get_mut(len..len + p.len()) else {
            // Longer than the stack buffer: the allocating way.
            *map.entry(parts.concat()).or_insert(0) += n;
            return;
        };
        dst.copy_from_slice(p.as_bytes());
        len += p.len();
    }
    // Concatenated `&str`s are UTF-8.
    let key = std::str::from_utf8(&buf[..len]).unwrap_or_default();
    match map.get_mut(key) {
        Some(count) => *count += n,
        None => {
            map.insert(key.to_string(), n);
        }
    }
}

fn format_cidr(c: &Cidr) -> String {
    let v4 = c.network.is_v4();
    let bits = if v4 { c.bits.saturating_sub(96) } else { c.bits };
    format!("{}/{bits}", c.network)
}

/// The verdict's summary: the highest score and whether any job crossed its threshold.
fn finish_verdict(v: &mut Verdict) {
    v.max_score = v.jobs.iter().map(|j| j.score).fold(0.0, f64::max);
    v.alert = v.jobs.iter().any(|j| j.above_threshold);
}

fn rejected_job(reason: RejectReason) -> JobVerdict {
    JobVerdict {
        job_id: RARE_SOURCE_IP_JOB.into(),
        state: "rejected".into(),
        score: 0.0,
        above_threshold: false,
        is_interim: false,
        reason: reason.describe().into(),
        evidence: None,
    }
}

fn state_name(s: AssessmentState) -> &'static str {
    match s {
        AssessmentState::Learning => "learning",
        AssessmentState::KnownAddress => "known_address",
        AssessmentState::NewAddress => "new_address",
        AssessmentState::Allowlisted => "allowlisted",
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_lines_is_split_at_newlines() {
        for text in ["", "\n", "a", "a\n", "a\nb", "\n\na\n\nbc\n", "abc\r\ndef"] {
            let b = text.as_bytes();
            let ours: Vec<&[u8]> = split_lines(b).collect();
            let std: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn excluded_processes_are_found_by_length_then_name() {
        let routes = JobRoutes::new(&[RARE_SOURCE_IP_JOB.to_string()]);
        assert!(!routes.excluded_processes.is_empty());
        let event = |process: &str| AuthEvent {
            is_authentication: true,
            outcome: Some(Outcome::Success),
            process_name: Some(process.to_string()),
            ..AuthEvent::default()
        };
        let long = "p".repeat(70);
        let others = ["sshd", "", "filebeat2", "Filebeat", long.as_str()];
        for name in routes.excluded_processes.iter().map(String::as_str).chain(others) {
            // The list compared in full, as before the length bits.
            let excluded = routes.excluded_processes.iter().any(|x| x == name);
            let got = Detector::base_filter(&event(name), &routes);
            assert_eq!(got == Err(FilterReason::ExcludedProcess), excluded, "{name}");
        }
    }

    #[test]
    fn without_related_jobs_their_state_is_as_if_every_event_were_observed() {
        let config = Config {
            jobs: vec![RARE_SOURCE_IP_JOB.to_string()],
            ..Config::default()
        };
        let mut detector = Detector::new(config).expect("config");
        let mut observed = RelatedJobs::default();
        let day_ms = crate::time::DAY_MS;
        for i in 0..40i64 {
            let event = AuthEvent {
                timestamp_ms: 20_000 * day_ms + i * day_ms / 7,
                user_name: format!("user{}", i % 3),
                source_ip: Some(std::net::IpAddr::from([10, 0, 0, (i % 5) as u8])),
                outcome: Some(if i % 4 == 0 { Outcome::Failure } else { Outcome::Success }),
                is_authentication: true,
                host_name: Some("host".into()),
                ..AuthEvent::default()
            };
            detector.push(&event);
            let feed = if i % 4 == 0 { Feed::Failure } else { Feed::Success };
            let bucket = crate::time::bucket_start(event.timestamp_ms, BUCKET_MS);
            observed.observe(
                detector.routes.related,
                feed,
                &event.user_name,
                None,
                event.host_name.as_deref(),
                event.timestamp_ms,
                bucket,
                &detector.related_limits,
                &|_| 75.0,
                false,
            );
        }
        assert_eq!(detector.state.related, observed);
        let restored = Detector::restore(&detector.snapshot().expect("snapshot")).expect("restore");
        assert_eq!(restored.state.related, observed);
    }

    #[test]
    fn filter_reasons_count_in_their_own_slots() {
        for (i, reason) in FilterReason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, i, "{reason:?}");
        }
        for (i, format) in InputFormat::ALL.into_iter().enumerate() {
            assert_eq!(format.index(), i, "{format:?}");
        }
    }

    // proptest is a native dev-dependency only (the wasm test builds compile these modules too).
    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        /// The keyed sort gives the order of a plain sort by (name bytes, address): names that
        /// share 16-byte prefixes, that are prefixes of each other, that hold NUL bytes (the
        /// padding), one name on several addresses.
        #[test]
        fn bucket_order_is_name_then_address_order(
            picks in proptest::collection::vec((0usize..12, 0u8..4), 0..60),
        ) {
            let names = [
                "alice", "alice.admin", "bob", "", "a", "a\u{0}", "a\u{0}\u{0}b",
                "user-with-a-long-shared-prefix-1", "user-with-a-long-shared-prefix-2",
                "user-with-a-long-shared-prefix", "zoë", "user-with-a-long-shared-prefix-10",
            ];
            let mut model = RareIpModel::default();
            let mut open = OpenSightings::default();
            for (n, last) in &picks {
                let uid = model.intern(names[*n], 0);
                open.record(uid, IpKey::from_ip(std::net::IpAddr::from([10, 0, 0, *last])), 0, None);
            }
            let mut ours = open.take();
            let mut plain = ours.clone();
            let name = |s: &Sighting| model.user(s.user).map_or(&[][..], |u| u.name_bytes());
            plain.sort_by(|a, b| name(a).cmp(name(b)).then(a.ip.cmp(&b.ip)));
            bucket_order(&model, &mut ours, &mut Vec::new());
            let key = |v: &[Sighting]| v.iter().map(|s| (s.user, s.ip)).collect::<Vec<_>>();
            proptest::prop_assert_eq!(key(&ours), key(&plain));
        }
    }
}
