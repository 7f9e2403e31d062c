//! Sharding the core by `user.name`: a simulated organisation's stream split over four detectors
//! (as a topic keyed by `user.name` splits it over four partitions, with Kafka's murmur2
//! partitioner) running only the per-user jobs gives the same alerts as one detector over the
//! whole stream. A second test pins down what sharding does lose: the rare-address job's
//! organisation-wide context (a colleague's desk).

use auth_anomaly::{Config, Detector};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
/// 2026-09-21T00:00:00Z.
const T0: i64 = 1_789_948_800_000;
const PARTITIONS: usize = 4;
const PER_USER: &str = r#"{"jobs": ["auth_rare_source_ip_for_a_user", "auth_rare_hour_for_a_user"]}"#;

/// Kafka's default partitioner hash (murmur2, as in `org.apache.kafka.common.utils.Utils`).
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if rest.len() == 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// The partition a record keyed by `key` lands on.
fn partition(key: &str) -> usize {
    (murmur2(key.as_bytes()) & 0x7fff_ffff) as usize % PARTITIONS
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

struct Event {
    ms: i64,
    user: String,
    ip: String,
}

impl Event {
    fn ndjson(&self) -> String {
        json!({
            "@timestamp": auth_anomaly::time::format_rfc3339_ms(self.ms),
            "event": {"category": ["authentication"], "outcome": "success"},
            "user": {"name": self.user}, "source": {"ip": self.ip}, "host": {"name": "bastion-1"}
        })
        .to_string()
            + "\n"
    }
}

/// What was planted, to check that the test is not vacuous.
struct Planted {
    new_network: Vec<(String, String)>,
    odd_hour: String,
}

/// 40 users × 21 days: each on their own desk (10.20.x.y) at office hours, every fourth user also
/// from the VPN pool (10.99.0.0/24, shared by all of them) from day 0; a few new-network logons
/// planted after the learning period, one during it, and a 03:00 logon for one office worker.
fn organisation() -> (Vec<Event>, Planted) {
    let mut rng = Rng(2026);
    let users: Vec<String> = (0..40).map(|i| format!("user{i:02}")).collect();
    let desk = |i: usize| format!("10.20.{}.{}", i / 8, 20 + i % 8);
    let mut events = Vec::new();
    for day in 0..21i64 {
        for (i, user) in users.iter().enumerate() {
            let logons = 2 + rng.below(3) as i64;
            for k in 0..logons {
                let hour = 8 + (k * 3) + rng.below(2) as i64;
                let ms = T0 + day * DAY + hour * HOUR + rng.below(50) as i64 * MINUTE;
                let vpn = i % 4 == 0 && rng.below(3) == 0;
                let ip = if vpn {
                    format!("10.99.0.{}", 10 + rng.below(60))
                } else {
                    desk(i)
                };
                events.push(Event {
                    ms,
                    user: user.clone(),
                    ip,
                });
            }
        }
    }
    let mut planted = Planted {
        new_network: Vec::new(),
        odd_hour: users[13].clone(),
    };
    for (user, day, ip) in [
        (3usize, 15i64, "185.220.101.4"),
        (17, 17, "203.0.113.77"),
        (29, 19, "198.51.100.23"),
        (36, 16, "192.0.2.200"),
    ] {
        events.push(Event {
            ms: T0 + day * DAY + 11 * HOUR + 7 * MINUTE,
            user: users[user].clone(),
            ip: ip.to_string(),
        });
        planted.new_network.push((users[user].clone(), ip.to_string()));
    }
    // During the learning period: never an alert.
    events.push(Event {
        ms: T0 + 2 * DAY + 12 * HOUR,
        user: users[8].clone(),
        ip: "100.64.7.7".into(),
    });
    events.push(Event {
        ms: T0 + 18 * DAY + 3 * HOUR + 12 * MINUTE,
        user: planted.odd_hour.clone(),
        ip: desk(13),
    });
    events.sort_by_key(|e| e.ms);
    (events, planted)
}

fn run(config: &str, stream: &str) -> Vec<Value> {
    let mut d = Detector::new(Config::from_json(config).unwrap()).unwrap();
    let out = d.push_ndjson(stream.as_bytes());
    let mut alerts: Vec<Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    alerts.extend(d.flush().alerts);
    let s = d.stats();
    assert_eq!(s.rejected, 0, "{s:?}");
    alerts
}

/// (job, user, address, score, bucket) of an alert: what must agree.
fn summary(a: &Value) -> (String, String, String, String, i64) {
    (
        a["job_id"].as_str().unwrap().to_string(),
        a["user"]["name"].as_str().unwrap_or_default().to_string(),
        a["source"]["ip"].as_str().unwrap_or_default().to_string(),
        format!("{:.2}", a["record_score"].as_f64().unwrap()),
        a["timestamp"].as_i64().unwrap(),
    )
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn shard(events: &[Event]) -> Vec<String> {
    let mut shards = vec![String::new(); PARTITIONS];
    for e in events {
        shards[partition(&e.user)].push_str(&e.ndjson());
    }
    shards
}

#[test]
fn per_user_jobs_give_the_same_alerts_sharded_by_user() {
    let (events, planted) = organisation();
    let whole: String = events.iter().map(Event::ndjson).collect();
    let single = run(PER_USER, &whole);
    let shards = shard(&events);
    assert!(shards.iter().all(|s| !s.is_empty()), "every partition gets users");
    let union: Vec<Value> = shards.iter().flat_map(|s| run(PER_USER, s)).collect();

    // Not vacuous: every planted logon alerts.
    let single_summary = sorted(single.iter().map(summary).collect());
    for (user, ip) in &planted.new_network {
        assert!(
            single_summary
                .iter()
                .any(|s| s.0 == "auth_rare_source_ip_for_a_user" && &s.1 == user && &s.2 == ip),
            "{user} from {ip}: {single_summary:#?}"
        );
    }
    assert!(
        single_summary
            .iter()
            .any(|s| s.0 == "auth_rare_hour_for_a_user" && s.1 == planted.odd_hour),
        "{single_summary:#?}"
    );
    assert!(
        !single_summary.iter().any(|s| s.2 == "100.64.7.7"),
        "learning users never alert"
    );

    let sizes: Vec<usize> = shards.iter().map(|s| s.lines().count()).collect();
    eprintln!(
        "{} events over {PARTITIONS} partitions {sizes:?}: {} alerts from one detector, {} from the shards",
        events.len(),
        single.len(),
        union.len()
    );
    for s in &single_summary {
        eprintln!("  {s:?}");
    }
    // Same users, addresses, scores and buckets …
    assert_eq!(sorted(union.iter().map(summary).collect()), single_summary);
    // … and the same documents, evidence and reasons included.
    let text = |v: &[Value]| sorted(v.iter().map(Value::to_string).collect::<Vec<_>>());
    assert_eq!(text(&union), text(&single));
}

#[test]
fn a_colleagues_desk_is_only_recognised_when_both_share_a_partition() {
    // The rare-address job is per user with organisation-wide context: an address that is
    // another user's desk scores at least 90 even inside the user's own /24. Sharded by user,
    // a partition knows only its own users' desks.
    let (mut events, _) = organisation();
    let desk = |i: usize| format!("10.20.{}.{}", i / 8, 20 + i % 8);
    let users: Vec<String> = (0..40).map(|i| format!("user{i:02}")).collect();
    // Two users in the same /24 (desks 10.20.0.x) on different partitions.
    let (a, b) = (0..8)
        .flat_map(|a| (0..8).map(move |b| (a, b)))
        .find(|&(a, b)| a != b && a % 4 != 0 && b % 4 != 0 && partition(&users[a]) != partition(&users[b]))
        .expect("two office neighbours on different partitions");
    events.push(Event {
        ms: T0 + 20 * DAY + 13 * HOUR + 3 * MINUTE,
        user: users[a].clone(),
        ip: desk(b),
    });
    events.sort_by_key(|e| e.ms);
    let is_lateral = |v: &Value| v["user"]["name"] == users[a].as_str() && v["source"]["ip"] == desk(b).as_str();

    let whole: String = events.iter().map(Event::ndjson).collect();
    let single = run(PER_USER, &whole);
    let lateral: Vec<&Value> = single.iter().filter(|v| is_lateral(v)).collect();
    assert_eq!(lateral.len(), 1, "one detector sees the colleague's desk");
    assert!(lateral[0]["record_score"].as_f64().unwrap() >= 90.0);
    assert!(lateral[0]["kibana.alert.reason"].as_str().unwrap().contains(&users[b]));

    let sharded: Vec<Value> = shard(&events).iter().flat_map(|s| run(PER_USER, s)).collect();
    assert!(
        !sharded.iter().any(is_lateral),
        "sharded by user, {}'s partition does not know {}'s desk",
        users[a],
        users[b]
    );
}

#[test]
fn murmur2_matches_kafka() {
    // Known values of Kafka's Utils.murmur2 (from its unit tests).
    assert_eq!(murmur2(b"21") as i32, -973_932_308);
    assert_eq!(murmur2(b"foobar") as i32, -790_332_482);
    assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985_981_536);
    assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1_486_304_829);
    assert_eq!(
        murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32,
        -58_897_971
    );
    assert_eq!(murmur2(b"abc") as i32, 479_470_107);
}
