//! The simulated organisation: who works there, from which addresses, when, and on which servers.
//!
//! Day numbers (`day`, `from_day`, …) count local calendar days from the first day of the period:
//! day `d` of a person is the local date `start date + d` in that person's time zone.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;

use crate::event::{Channel, HOSTS};
use crate::rng::Rng;
use crate::time::{is_workday, weekday_of_epoch_day, DAY_MS, MINUTE_MS};
use crate::truth::LabelType;
use crate::Config;

/// An account's role, which decides how it behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    /// Works at a desk in an office (some also from home one weekday; some get DHCP renumbered).
    Office,
    /// Works remotely through the VPN; gets a pool address most days.
    Vpn,
    /// An office worker who makes 1–2 trips.
    Traveller,
    /// A service account: logs on every 15 minutes, 24/7, from fixed server addresses.
    Service,
    /// An office worker who joins part-way through the period.
    NewHire,
    /// An office account used only on the first two days.
    Dormant,
}

impl Profile {
    /// The name used in the truth file.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Office => "office",
            Profile::Vpn => "vpn",
            Profile::Traveller => "traveller",
            Profile::Service => "service",
            Profile::NewHire => "new_hire",
            Profile::Dormant => "dormant",
        }
    }

    /// `true` for accounts that belong to a person.
    pub fn is_human(self) -> bool {
        self != Profile::Service
    }
}

/// A workstation address held from `from_day` (inclusive) to `to_day` (exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub from_day: i64,
    pub to_day: i64,
    pub ip: Ipv4Addr,
}

/// A business trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trip {
    pub from_day: i64,
    pub to_day: i64,
    /// Addresses of the hotel / foreign ISP network used during the trip (one /24).
    pub ips: Vec<Ipv4Addr>,
    pub place: String,
    /// Extra minutes added to the person's UTC offset while away.
    pub tz_shift_min: i64,
}

/// How a service account behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePlan {
    pub ips: Vec<Ipv4Addr>,
    pub hosts: Vec<usize>,
    pub channel: Channel,
    /// Fails a little, all the time (a stale password somewhere).
    pub noisy: bool,
    /// Offset of its 15-minute schedule, milliseconds.
    pub phase_ms: i64,
}

/// One account.
#[derive(Clone, Debug)]
pub struct Person {
    pub name: String,
    pub profile: Profile,
    /// Department, i.e. which office /24 the desk is in.
    pub dept: Option<usize>,
    /// Desk addresses over time (one lease unless renumbered by DHCP).
    pub desk: Vec<Lease>,
    pub renumbers: bool,
    pub home: Option<Ipv4Addr>,
    /// The weekday (0 = Monday) worked from home, if any.
    pub home_weekday: Option<u32>,
    /// UTC offset, minutes.
    pub tz_min: i64,
    /// Local working hours, minutes after midnight (`start_min..end_min`).
    pub start_min: i64,
    pub end_min: i64,
    /// Servers this person uses (indices into [`HOSTS`]).
    pub hosts: Vec<usize>,
    /// Active days `first_day..last_day`.
    pub first_day: i64,
    pub last_day: i64,
    /// Logons on a working day, inclusive range.
    pub logons: (i64, i64),
    pub trips: Vec<Trip>,
    /// VPN address per day (VPN users only; `None` on days off).
    pub vpn: Vec<Option<Ipv4Addr>>,
    pub service: Option<ServicePlan>,
}

impl Person {
    /// The desk address on `day`.
    pub fn desk_on(&self, day: i64) -> Option<Ipv4Addr> {
        self.desk
            .iter()
            .find(|l| (l.from_day..l.to_day).contains(&day))
            .or(self.desk.last())
            .map(|l| l.ip)
    }

    /// The trip covering `day`, if any.
    pub fn trip_on(&self, day: i64) -> Option<&Trip> {
        self.trips.iter().find(|t| (t.from_day..t.to_day).contains(&day))
    }

    /// `true` for an office worker whose desk address never changes and who never travels.
    pub fn is_stable_office(&self) -> bool {
        self.profile == Profile::Office && !self.renumbers && self.trips.is_empty()
    }
}

/// A benign novelty to be labelled if the person actually logs on from `ip` in the period.
#[derive(Clone, Debug)]
pub struct BenignCandidate {
    pub kind: LabelType,
    pub person: usize,
    pub ip: Ipv4Addr,
    pub from_ms: i64,
    pub to_ms: i64,
    pub description: String,
}

/// The whole organisation.
#[derive(Clone, Debug)]
pub struct Org {
    pub people: Vec<Person>,
    /// Epoch day of the first (UTC) day of the period.
    pub day0: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub days: i64,
    pub benign: Vec<BenignCandidate>,
}

impl Org {
    /// UTC instant of local midnight of `day` for a person at UTC offset `tz_min`.
    pub fn local_midnight(&self, day: i64, tz_min: i64) -> i64 {
        (self.day0 + day) * DAY_MS - tz_min * MINUTE_MS
    }

    /// Weekday (0 = Monday) of period day `day`.
    pub fn weekday(&self, day: i64) -> u32 {
        weekday_of_epoch_day(self.day0 + day)
    }
}

const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "karl", "lena", "mallory",
    "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier", "yara",
    "zoe", "amir", "bea", "chen", "dmitri", "elif", "farah", "goran", "hana", "igor", "jonas", "kemal", "lucia",
    "marta", "nils", "olga", "pavel", "rosa", "sanjay", "tomas", "uma", "vera", "wei",
];

const LAST: &[&str] = &[
    "ng",
    "smith",
    "jones",
    "garcia",
    "muller",
    "rossi",
    "novak",
    "kowalski",
    "silva",
    "dubois",
    "jensen",
    "ivanova",
    "tanaka",
    "kim",
    "patel",
    "okafor",
    "haddad",
    "costa",
    "berg",
    "fischer",
    "moreau",
    "larsen",
    "nowak",
    "horvat",
    "popescu",
    "yilmaz",
    "murphy",
    "walsh",
    "lund",
    "meyer",
    "schmidt",
    "bauer",
    "weber",
    "wagner",
    "becker",
    "hoffmann",
    "koch",
    "richter",
    "klein",
    "wolf",
    "romero",
    "torres",
    "ortiz",
    "nguyen",
    "tran",
    "le",
    "pham",
    "chowdhury",
];

const SERVICE_NAMES: &[&str] = &[
    "svc-backup",
    "svc-monitor",
    "svc-deploy",
    "svc-etl",
    "svc-ci-runner",
    "svc-reporting",
    "svc-inventory",
    "svc-scanner",
];

/// The noisy service that always fails a little.
pub const NOISY_SERVICE: &str = "svc-legacy-sync";

/// ISP /16s that home connections come from.
const HOME_ISPS: &[[u8; 2]] = &[[81, 107], [81, 140], [81, 152], [81, 171]];

/// Hotel / foreign ISP networks for trips.
const FOREIGN: &[([u8; 2], &str)] = &[
    ([62, 210], "hotel Wi-Fi in Paris"),
    ([88, 149], "hotel Wi-Fi in Madrid"),
    ([93, 115], "conference network in Rome"),
    ([109, 190], "hotel Wi-Fi in Prague"),
    ([176, 31], "mobile ISP in Warsaw"),
    ([212, 58], "hotel Wi-Fi in Vienna"),
    ([5, 44], "hotel Wi-Fi in Oslo"),
    ([94, 23], "customer site in Budapest"),
    ([151, 80], "hotel Wi-Fi in Zurich"),
    ([193, 36], "hotel Wi-Fi in Dublin"),
    ([217, 9], "mobile ISP in Stockholm"),
    ([78, 46], "hotel Wi-Fi in Athens"),
];

/// UTC offsets (minutes) of the office sites, by department.
const DEPT_TZ: &[i64] = &[60, 0, 60, -300, 120, 60, 0, -300];

/// Remote workers' UTC offsets.
const VPN_TZ: &[i64] = &[60, 0, 60, 120, -300];

/// The VPN pool: 10.99.0.0/16.
fn vpn_pool_addr(k: u64) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, (k / 254) as u8, (k % 254 + 1) as u8)
}

/// The /24 of department `dept`: 10.20.<dept+1>.0/24 (10.21… beyond 200 departments).
fn dept_net(dept: usize) -> [u8; 3] {
    [10, 20 + (dept / 200) as u8, (dept % 200 + 1) as u8]
}

/// Hands out desk addresses, never re-using one while fresh ones remain.
struct DeskPool {
    free: Vec<Vec<u8>>,
    released: Vec<VecDeque<u8>>,
}

impl DeskPool {
    fn new(depts: usize, rng: &mut Rng) -> Self {
        let free = (0..depts)
            .map(|_| {
                let mut v: Vec<u8> = (21..=250).collect();
                rng.shuffle(&mut v);
                v
            })
            .collect();
        DeskPool {
            free,
            released: vec![VecDeque::new(); depts],
        }
    }

    fn take(&mut self, dept: usize) -> Ipv4Addr {
        let host = self.free[dept]
            .pop()
            .or_else(|| self.released[dept].pop_front())
            .unwrap_or(250);
        let [a, b, c] = dept_net(dept);
        Ipv4Addr::new(a, b, c, host)
    }

    fn release(&mut self, dept: usize, ip: Ipv4Addr) {
        self.released[dept].push_back(ip.octets()[3]);
    }
}

fn unique_name(rng: &mut Rng, taken: &mut BTreeSet<String>) -> String {
    let base = format!("{}.{}", FIRST[rng.index(FIRST.len())], LAST[rng.index(LAST.len())]);
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

fn pick_hosts(rng: &mut Rng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..HOSTS.len()).collect();
    rng.shuffle(&mut all);
    let k = rng.range(2, 4) as usize;
    let mut hosts: Vec<usize> = all.into_iter().take(k).collect();
    hosts.sort_unstable();
    hosts
}

fn hours(rng: &mut Rng) -> (i64, i64) {
    if rng.chance(0.3) {
        return (9 * 60, 17 * 60); // a 9-to-5 person
    }
    let start = 7 * 60 + 30 * rng.range(0, 4);
    let end = start + 8 * 60 + 30 * rng.range(0, 4);
    (start, end)
}

fn fmt_day(org_day0: i64, day: i64) -> String {
    let (y, m, d) = crate::time::civil_from_days(org_day0 + day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Plans the organisation for `cfg`. Deterministic in `cfg.seed`.
pub fn plan(cfg: &Config) -> Org {
    let mut rng = Rng::derive(cfg.seed, 1);
    let n = cfg.users;
    let days = cfg.days as i64;
    let day0 = cfg.start_ms.div_euclid(DAY_MS);

    let n_service = (n / 15).max(2);
    let n_vpn = (n * 2 / 15).max(1);
    let n_trav = (n / 10).max(1);
    let n_new = (n / 20).max(1);
    let n_dormant = 1;
    let n_office = n.saturating_sub(n_service + n_vpn + n_trav + n_new + n_dormant);

    let mut profiles = Vec::with_capacity(n);
    profiles.extend(std::iter::repeat_n(Profile::Office, n_office));
    profiles.extend(std::iter::repeat_n(Profile::Traveller, n_trav));
    profiles.extend(std::iter::repeat_n(Profile::NewHire, n_new));
    profiles.extend(std::iter::repeat_n(Profile::Dormant, n_dormant));
    profiles.extend(std::iter::repeat_n(Profile::Vpn, n_vpn));
    profiles.extend(std::iter::repeat_n(Profile::Service, n_service));

    let desk_users = n_office + n_trav + n_new + n_dormant;
    let depts = desk_users.div_ceil(12).max(2);
    let mut dept_order: Vec<usize> = (0..desk_users).map(|i| i % depts).collect();
    rng.shuffle(&mut dept_order);
    let mut desks = DeskPool::new(depts, &mut rng);

    let mut names = BTreeSet::new();
    let mut homes = BTreeSet::new();
    let mut foreign_used = BTreeSet::new();
    let mut benign = Vec::new();
    let mut people = Vec::with_capacity(n);
    let mut desk_i = 0;
    let mut service_i = 0;

    for profile in profiles {
        let (start_min, end_min) = hours(&mut rng);
        let lo = rng.range(1, 2);
        let mut p = Person {
            name: String::new(),
            profile,
            dept: None,
            desk: Vec::new(),
            renumbers: false,
            home: None,
            home_weekday: None,
            tz_min: 0,
            start_min,
            end_min,
            hosts: pick_hosts(&mut rng),
            first_day: 0,
            last_day: days,
            logons: (lo, lo + rng.range(2, 4)),
            trips: Vec::new(),
            vpn: Vec::new(),
            service: None,
        };
        if profile == Profile::Service {
            let last = service_i + 1 == n_service;
            p.name = if last {
                NOISY_SERVICE.to_string()
            } else if let Some(s) = SERVICE_NAMES.get(service_i) {
                s.to_string()
            } else {
                format!("svc-batch-{service_i:02}")
            };
            names.insert(p.name.clone());
            let base = 10 + 2 * service_i as u64;
            let ip = |k: u64| Ipv4Addr::new(10, 10, (k / 250) as u8, (k % 250 + 1) as u8);
            let ips = if rng.chance(0.5) {
                vec![ip(base), ip(base + 1)]
            } else {
                vec![ip(base)]
            };
            let (hosts, channel) = if last {
                (vec![7], Channel::WinNetwork) // fs-01
            } else {
                let mut h = vec![rng.index(6)];
                if rng.chance(0.5) {
                    let other = rng.index(6);
                    if other != h[0] {
                        h.push(other);
                    }
                }
                (h, Channel::Ssh)
            };
            p.service = Some(ServicePlan {
                ips,
                hosts,
                channel,
                noisy: last,
                phase_ms: rng.range(0, 14 * 60) * 1000,
            });
            people.push(p);
            service_i += 1;
            continue;
        }

        p.name = unique_name(&mut rng, &mut names);
        if profile == Profile::Vpn {
            p.tz_min = VPN_TZ[rng.index(VPN_TZ.len())];
            people.push(p);
            continue;
        }

        // Desk users.
        let dept = dept_order[desk_i];
        desk_i += 1;
        p.dept = Some(dept);
        p.tz_min = DEPT_TZ[dept % DEPT_TZ.len()];
        match profile {
            Profile::NewHire => {
                p.first_day = rng.range(days * 35 / 100, days * 65 / 100).max(1);
                while p.first_day + 1 < days && !is_workday(weekday_of_epoch_day(day0 + p.first_day)) {
                    p.first_day += 1;
                }
            }
            Profile::Dormant => {
                p.last_day = 2.min(days);
            }
            _ => {}
        }
        if matches!(profile, Profile::Office | Profile::Traveller | Profile::NewHire) && rng.chance(0.5) {
            let home = loop {
                let isp = HOME_ISPS[rng.index(HOME_ISPS.len())];
                let ip = Ipv4Addr::new(isp[0], isp[1], rng.below(256) as u8, rng.range(1, 254) as u8);
                if homes.insert(ip) {
                    break ip;
                }
            };
            p.home = Some(home);
            p.home_weekday = Some(rng.below(5) as u32);
        }
        p.renumbers = profile == Profile::Office && rng.chance(0.3);

        // Desk leases.
        let mut from = p.first_day;
        loop {
            let ip = desks.take(dept);
            let to = if p.renumbers {
                (from + rng.range(8, 12)).min(days)
            } else {
                days
            };
            if from > p.first_day {
                benign.push(BenignCandidate {
                    kind: LabelType::BenignDhcpRenumbering,
                    person: people.len(),
                    ip,
                    from_ms: (day0 + from) * DAY_MS - p.tz_min * MINUTE_MS,
                    to_ms: (day0 + to) * DAY_MS - p.tz_min * MINUTE_MS,
                    description: format!(
                        "{}'s workstation renumbered by DHCP to {ip} (same /24 as before) on {}",
                        p.name,
                        fmt_day(day0, from)
                    ),
                });
            }
            p.desk.push(Lease {
                from_day: from,
                to_day: to,
                ip,
            });
            if to >= days {
                break;
            }
            desks.release(dept, ip);
            from = to;
        }

        // Trips.
        if profile == Profile::Traveller && days >= 14 {
            let want = rng.range(1, 2);
            let mut tries = 0;
            while (p.trips.len() as i64) < want && tries < 40 {
                tries += 1;
                let len = rng.range(2, 4);
                let from = rng.range(8, days - len - 1);
                let to = from + len;
                if p.trips.iter().any(|t| from < t.to_day + 3 && t.from_day < to + 3) {
                    continue;
                }
                let mut k = rng.index(FOREIGN.len());
                for _ in 0..FOREIGN.len() {
                    if !foreign_used.contains(&k) {
                        break;
                    }
                    k = (k + 1) % FOREIGN.len();
                }
                foreign_used.insert(k);
                let ([a, b], place) = FOREIGN[k];
                let c = rng.below(256) as u8;
                let mut hosts: Vec<u8> = (2..=254).collect();
                rng.shuffle(&mut hosts);
                let count = rng.range(3, 5) as usize;
                let ips: Vec<Ipv4Addr> = hosts[..count].iter().map(|&h| Ipv4Addr::new(a, b, c, h)).collect();
                let tz_shift_min = 60 * rng.range(-1, 2);
                for &ip in &ips {
                    benign.push(BenignCandidate {
                        kind: LabelType::BenignTravel,
                        person: people.len(),
                        ip,
                        from_ms: (day0 + from) * DAY_MS - (p.tz_min + tz_shift_min) * MINUTE_MS,
                        to_ms: (day0 + to) * DAY_MS - (p.tz_min + tz_shift_min) * MINUTE_MS,
                        description: format!(
                            "{} travelling {}–{}: {place} ({a}.{b}.{c}.0/24)",
                            p.name,
                            fmt_day(day0, from),
                            fmt_day(day0, to - 1)
                        ),
                    });
                }
                p.trips.push(Trip {
                    from_day: from,
                    to_day: to,
                    ips,
                    place: place.to_string(),
                    tz_shift_min,
                });
            }
            p.trips.sort_by_key(|t| t.from_day);
        }
        people.push(p);
    }

    plan_vpn(&mut people, &mut benign, &mut rng, day0, days);

    Org {
        people,
        day0,
        start_ms: cfg.start_ms,
        end_ms: cfg.start_ms + days * DAY_MS,
        days,
        benign,
    }
}

/// Daily VPN leases from a shared pool: a new address most days, and addresses come back to
/// other users over time.
fn plan_vpn(people: &mut [Person], benign: &mut Vec<BenignCandidate>, rng: &mut Rng, day0: i64, days: i64) {
    let vpn_users: Vec<usize> = (0..people.len())
        .filter(|&i| people[i].profile == Profile::Vpn)
        .collect();
    let pool_size = (vpn_users.len() as u64 * 64).clamp(508, 65_000);
    let mut ever: Vec<Ipv4Addr> = Vec::new();
    let mut ever_set = BTreeSet::new();
    let mut last: Vec<Option<Ipv4Addr>> = vec![None; people.len()];
    let mut holders: BTreeMap<Ipv4Addr, Vec<(i64, usize)>> = BTreeMap::new();
    for &i in &vpn_users {
        people[i].vpn = vec![None; days as usize];
    }
    for day in 0..days {
        if !is_workday(weekday_of_epoch_day(day0 + day)) {
            continue;
        }
        let mut today = BTreeSet::new();
        for &i in &vpn_users {
            if rng.chance(0.05) {
                continue; // day off
            }
            let keep = last[i].filter(|ip| !today.contains(ip) && rng.chance(0.2));
            let ip = match keep {
                Some(ip) => ip,
                None => loop {
                    let candidate = if !ever.is_empty() && rng.chance(0.35) {
                        ever[rng.index(ever.len())]
                    } else {
                        vpn_pool_addr(rng.below(pool_size))
                    };
                    if !today.contains(&candidate) && Some(candidate) != last[i] {
                        break candidate;
                    }
                },
            };
            today.insert(ip);
            if ever_set.insert(ip) {
                ever.push(ip);
            }
            last[i] = Some(ip);
            holders.entry(ip).or_default().push((day, i));
            people[i].vpn[day as usize] = Some(ip);
        }
    }
    // Label every address a VPN user gets that they have not had before (after their first).
    for &i in &vpn_users {
        let p = &people[i];
        let mut seen = BTreeSet::new();
        let mut day = 0;
        while day < days {
            let Some(ip) = p.vpn[day as usize] else {
                day += 1;
                continue;
            };
            // The run of days holding this lease (weekends and days off do not end it).
            let mut end = day + 1;
            let mut d = day + 1;
            while d < days {
                match p.vpn[d as usize] {
                    Some(x) if x == ip => {
                        end = d + 1;
                        d += 1;
                    }
                    Some(_) => break,
                    None => d += 1,
                }
            }
            let first = seen.is_empty();
            if seen.insert(ip) && !first {
                let before = holders
                    .get(&ip)
                    .and_then(|h| h.iter().rev().find(|&&(d, j)| d < day && j != i))
                    .map(|&(_, j)| format!("; held earlier by {}", people[j].name))
                    .unwrap_or_default();
                benign.push(BenignCandidate {
                    kind: LabelType::BenignVpnPoolRotation,
                    person: i,
                    ip,
                    from_ms: (day0 + day) * DAY_MS - p.tz_min * MINUTE_MS,
                    to_ms: (day0 + end) * DAY_MS - p.tz_min * MINUTE_MS,
                    description: format!(
                        "{} on the VPN with pool address {ip}, new for this user (pool 10.99.0.0/16{before})",
                        p.name
                    ),
                });
            }
            day = end;
        }
    }
}
