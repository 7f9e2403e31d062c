//! Planting the labelled attacks into the benign traffic.
//!
//! Attacks are planned after the benign traffic exists, from their own random stream, so that
//! turning them off (`--no-attacks`) leaves every benign event byte-for-byte the same. Victims of
//! the rare-source-IP attacks are chosen among accounts with at least seven days of history.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::event::{Channel, Event, HOSTS};
use crate::org::{Org, Person, Profile};
use crate::rng::Rng;
use crate::time::{format_rfc3339, is_workday, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};
use crate::truth::LabelType;

/// One planned attack and its events.
#[derive(Clone, Debug)]
pub struct Planned {
    pub kind: LabelType,
    pub users: Vec<String>,
    pub ip: Ipv4Addr,
    pub description: String,
    pub events: Vec<Event>,
}

/// Names a password sprayer tries besides the real accounts.
const SPRAY_EXTRA: &[&str] = &[
    "administrator",
    "admin",
    "test",
    "guest",
    "backup",
    "support",
    "helpdesk",
    "scanner",
    "training",
    "reception",
    "user",
    "temp",
];

/// What each account did before an attack.
struct History<'a> {
    first: BTreeMap<&'a str, i64>,
    user_days: BTreeMap<&'a str, BTreeSet<i64>>,
    ip_days: BTreeMap<(&'a str, Ipv4Addr), BTreeSet<i64>>,
}

impl<'a> History<'a> {
    fn new(events: &'a [Event]) -> Self {
        let mut h = History {
            first: BTreeMap::new(),
            user_days: BTreeMap::new(),
            ip_days: BTreeMap::new(),
        };
        for e in events.iter().filter(|e| e.success) {
            let day = e.timestamp_ms.div_euclid(DAY_MS);
            let first = h.first.entry(e.user.as_str()).or_insert(e.timestamp_ms);
            *first = (*first).min(e.timestamp_ms);
            h.user_days.entry(e.user.as_str()).or_default().insert(day);
            h.ip_days.entry((e.user.as_str(), e.source_ip)).or_default().insert(day);
        }
        h
    }

    /// At least seven days since the first successful logon and five active days before `t`.
    fn established(&self, user: &str, t: i64) -> bool {
        let first_ok = self.first.get(user).is_some_and(|&f| f <= t - 7 * DAY_MS);
        let active = self
            .user_days
            .get(user)
            .map_or(0, |d| d.range(..t.div_euclid(DAY_MS)).count());
        first_ok && active >= 5
    }

    /// `user` logged on from `ip` on at least five days before `t`.
    fn habitual(&self, user: &str, ip: Ipv4Addr, t: i64) -> bool {
        self.ip_days
            .get(&(user, ip))
            .is_some_and(|d| d.range(..t.div_euclid(DAY_MS)).count() >= 5)
    }
}

struct Planner<'a> {
    org: &'a Org,
    hist: History<'a>,
    rng: Rng,
    used: BTreeSet<usize>,
}

impl Planner<'_> {
    /// The day at fraction `frac` of the period, after day 10 and before the last day.
    fn target_day(&mut self, frac: f64) -> i64 {
        let days = self.org.days;
        let d = (days as f64 * frac).round() as i64 + self.rng.range(0, 1);
        d.clamp(11, days - 2)
    }

    /// The first working day at or after `day` (within the period).
    fn workday_from(&self, day: i64) -> i64 {
        (day..=self.org.days - 2)
            .find(|&d| is_workday(self.org.weekday(d)))
            .unwrap_or(day)
    }

    /// A conservative reference time for "history before the attack on `day`".
    fn before(&self, day: i64) -> i64 {
        (self.org.day0 + day - 1) * DAY_MS
    }

    fn pick(&mut self, cands: &[usize]) -> Option<usize> {
        if cands.is_empty() {
            None
        } else {
            Some(cands[self.rng.index(cands.len())])
        }
    }

    fn person(&self, i: usize) -> &Person {
        &self.org.people[i]
    }

    /// Unused accounts of the given profiles, established before `day`.
    fn established(&self, day: i64, ok: impl Fn(&Person) -> bool) -> Vec<usize> {
        let t = self.before(day);
        (0..self.org.people.len())
            .filter(|i| !self.used.contains(i))
            .filter(|&i| ok(&self.org.people[i]) && self.hist.established(&self.org.people[i].name, t))
            .collect()
    }

    fn host_of(&mut self, p: &Person) -> (&'static str, Channel) {
        let h = HOSTS[p.hosts[self.rng.index(p.hosts.len())]];
        (h.name, h.channel)
    }

    /// A random instant in `p`'s working hours on `day`, leaving `margin_before`/`after` minutes.
    fn work_time(&mut self, p: &Person, day: i64, margin_before: i64, margin_after: i64) -> i64 {
        let lo = p.start_min + margin_before;
        let hi = (p.end_min - margin_after).max(lo);
        self.org.local_midnight(day, p.tz_min) + self.rng.range(lo, hi) * MINUTE_MS + self.rng.range(0, 59_999)
    }

    /// An address in `a.b.0.0/16` (never used by anyone in the organisation).
    fn external(&mut self, a: u8, b: u8) -> Ipv4Addr {
        Ipv4Addr::new(a, b, self.rng.range(100, 254) as u8, self.rng.range(2, 254) as u8)
    }
}

fn ev(user: &str, ts: i64, ip: Ipv4Addr, host: &'static str, channel: Channel, success: bool) -> Event {
    Event {
        timestamp_ms: ts,
        user: user.to_string(),
        source_ip: ip,
        host,
        channel,
        success,
        attack: None,
    }
}

fn when(ts: i64) -> String {
    format_rfc3339(ts - ts.rem_euclid(SECOND_MS))
}

/// Plans the seven attacks. Returns them in the order of [`LabelType`]; an attack whose
/// preconditions cannot be met (too small an organisation) is left out.
pub fn plan(seed: u64, org: &Org, benign: &[Event]) -> Vec<Planned> {
    let mut pl = Planner {
        org,
        hist: History::new(benign),
        rng: Rng::derive(seed, 2),
        used: BTreeSet::new(),
    };
    let mut out = Vec::new();
    out.extend(stolen_credentials_outside(&mut pl));
    out.extend(lateral_movement(&mut pl));
    out.extend(brute_force(&mut pl));
    out.extend(password_spray(&mut pl));
    out.extend(credential_replay(&mut pl));
    out.extend(off_hours(&mut pl));
    out.extend(dormant(&mut pl));
    out
}

fn stolen_credentials_outside(pl: &mut Planner) -> Option<Planned> {
    let target = pl.target_day(0.40);
    let cands = pl.established(target, Person::is_stable_office);
    let v = pl.pick(&cands)?;
    pl.used.insert(v);
    let p = pl.person(v).clone();
    let day = pl.workday_from(target);
    let ip = pl.external(185, 220);
    let n = pl.rng.range(1, 3);
    let mut ts = pl.work_time(&p, day, 30, 90);
    let mut events = Vec::new();
    for _ in 0..n {
        let (host, channel) = pl.host_of(&p);
        events.push(ev(&p.name, ts, ip, host, channel, true));
        ts += pl.rng.range(4, 25) * MINUTE_MS + pl.rng.range(0, 59_999);
    }
    let first = events[0].timestamp_ms;
    Some(Planned {
        kind: LabelType::StolenCredentialsOutside,
        users: vec![p.name.clone()],
        ip,
        description: format!(
            "{}'s password used from {ip}, outside the organisation in a /16 nobody has used \
             (185.220.0.0/16): {n} successful logon(s) within an hour from {}, during work hours",
            p.name,
            when(first)
        ),
        events,
    })
}

fn lateral_movement(pl: &mut Planner) -> Option<Planned> {
    let target = pl.target_day(0.47);
    let t = pl.before(target);
    let cands = pl.established(target, Person::is_stable_office);
    let mut by_dept: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &cands {
        let p = pl.person(i);
        if let Some(dept) = p.dept {
            by_dept.entry(dept).or_default().push(i);
        }
    }
    let pairs: Vec<(usize, usize)> = by_dept
        .values()
        .flat_map(|members| members.iter().flat_map(move |&v| members.iter().map(move |&c| (v, c))))
        .filter(|&(v, c)| v != c)
        // The colleague must really sit at that desk: a habitual address before the attack.
        .filter(|&(_, c)| {
            let p = pl.person(c);
            p.desk_on(target).is_some_and(|ip| pl.hist.habitual(&p.name, ip, t))
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let (v, c) = pairs[pl.rng.index(pairs.len())];
    pl.used.insert(v);
    pl.used.insert(c);
    let victim = pl.person(v).clone();
    let colleague = pl.person(c).clone();
    let day = pl.workday_from(target);
    let ip = colleague.desk_on(day)?;
    let own = victim.desk_on(day)?;
    let n = pl.rng.range(1, 2);
    let lo = victim.start_min.max(colleague.start_min);
    let hi = victim.end_min.min(colleague.end_min);
    let mut ts = pl.org.local_midnight(day, victim.tz_min)
        + pl.rng.range(lo + 30, (hi - 60).max(lo + 30)) * MINUTE_MS
        + pl.rng.range(0, 59_999);
    let mut events = Vec::new();
    for _ in 0..n {
        let (host, channel) = pl.host_of(&victim);
        events.push(ev(&victim.name, ts, ip, host, channel, true));
        ts += pl.rng.range(3, 20) * MINUTE_MS + pl.rng.range(0, 59_999);
    }
    let first = events[0].timestamp_ms;
    Some(Planned {
        kind: LabelType::LateralMovementColleagueDesk,
        users: vec![victim.name.clone()],
        ip,
        description: format!(
            "{}'s account used from {ip}, the habitual workstation of colleague {} (same /24 as \
             {}'s own desk {own}): {n} successful logon(s) from {}",
            victim.name,
            colleague.name,
            victim.name,
            when(first)
        ),
        events,
    })
}

fn brute_force(pl: &mut Planner) -> Option<Planned> {
    let target = pl.target_day(0.53);
    let cands = pl.established(target, |p| {
        matches!(p.profile, Profile::Office | Profile::Vpn | Profile::Traveller)
    });
    let v = pl.pick(&cands)?;
    pl.used.insert(v);
    let name = pl.person(v).name.clone();
    let ip = pl.external(45, 155);
    let start = (pl.org.day0 + target) * DAY_MS + pl.rng.range(13 * 60, 16 * 60) * MINUTE_MS + pl.rng.range(0, 59_999);
    let n = pl.rng.range(310, 360);
    let dur = pl.rng.range(24, 28) * MINUTE_MS;
    let mut events: Vec<Event> = (0..n)
        .map(|i| {
            let ts = start + i * dur / n + pl.rng.range(0, 800);
            ev(&name, ts, ip, "bastion-01", Channel::Ssh, false)
        })
        .collect();
    let success = start + dur + pl.rng.range(2, 8) * SECOND_MS + pl.rng.range(0, 999);
    events.push(ev(&name, success, ip, "bastion-01", Channel::Ssh, true));
    Some(Planned {
        kind: LabelType::BruteForce,
        users: vec![name.clone()],
        ip,
        description: format!(
            "SSH brute force on bastion-01 from {ip}: {n} failed logons as {name} in {} minutes \
             from {}, then a successful one at {}",
            dur / MINUTE_MS,
            when(start),
            when(success)
        ),
        events,
    })
}

fn password_spray(pl: &mut Planner) -> Option<Planned> {
    let target = pl.target_day(0.60);
    let mut targets: Vec<String> = pl
        .org
        .people
        .iter()
        // Not the dormant account: it stays silent until its own attack.
        .filter(|p| p.profile.is_human() && p.profile != Profile::Dormant && p.first_day <= target)
        .map(|p| p.name.clone())
        .collect();
    pl.rng.shuffle(&mut targets);
    targets.truncate(46);
    for extra in SPRAY_EXTRA {
        if targets.len() >= 42 {
            break;
        }
        targets.push(extra.to_string());
    }
    pl.rng.shuffle(&mut targets);
    let ip = pl.external(194, 165);
    let start = (pl.org.day0 + target) * DAY_MS + pl.rng.range(9 * 60, 15 * 60) * MINUTE_MS + pl.rng.range(0, 59_999);
    let dur = pl.rng.range(16, 19) * MINUTE_MS;
    let m = targets.len() as i64;
    let round1 = dur * 6 / 10;
    let mut events = Vec::new();
    for (k, user) in targets.iter().enumerate() {
        let ts = start + k as i64 * round1 / m + pl.rng.range(0, 999);
        events.push(ev(user, ts, ip, "ts-01", Channel::WinNetwork, false));
    }
    for (k, user) in targets.iter().enumerate() {
        if pl.rng.chance(0.5) {
            let ts = start + round1 + k as i64 * (dur - round1) / m + pl.rng.range(0, 999);
            events.push(ev(user, ts, ip, "ts-01", Channel::WinNetwork, false));
        }
    }
    let attempts = events.len();
    Some(Planned {
        kind: LabelType::PasswordSpray,
        users: targets.clone(),
        ip,
        description: format!(
            "password spray against ts-01 from {ip}: {attempts} failed network logons over {} \
             accounts in {} minutes from {}, no success",
            targets.len(),
            dur / MINUTE_MS,
            when(start)
        ),
        events,
    })
}

fn credential_replay(pl: &mut Planner) -> Option<Planned> {
    let target = pl.target_day(0.67);
    let owners = pl.established(target, Person::is_stable_office);
    let o = pl.pick(&owners)?;
    pl.used.insert(o);
    let owner = pl.person(o).clone();
    let day = pl.workday_from(target);
    let ip = owner.desk_on(day)?;
    let t = pl.before(target);
    let mut accounts: Vec<usize> = (0..pl.org.people.len())
        .filter(|&i| i != o)
        .filter(|&i| {
            let p = pl.person(i);
            p.profile.is_human()
                && p.profile != Profile::Dormant
                && pl.hist.established(&p.name, t)
                && !pl.hist.ip_days.contains_key(&(p.name.as_str(), ip))
        })
        .collect();
    pl.rng.shuffle(&mut accounts);
    let want = pl.rng.range(26, 30) as usize;
    accounts.truncate(want);
    if accounts.len() < 25 {
        return None;
    }
    let start = pl.work_time(&owner, day, 60, 60);
    let dur = pl.rng.range(20, 27) * MINUTE_MS;
    let m = accounts.len() as i64;
    let mut users = Vec::new();
    let mut events = Vec::new();
    for (k, &a) in accounts.iter().enumerate() {
        let name = pl.person(a).name.clone();
        let ts = start + k as i64 * dur / m + pl.rng.range(0, 20_000);
        let host = if k % 2 == 0 { "fs-01" } else { "dc-01" };
        events.push(ev(&name, ts, ip, host, Channel::WinNetwork, true));
        users.push(name);
    }
    let start = events.iter().map(|e| e.timestamp_ms).min().unwrap_or(start);
    Some(Planned {
        kind: LabelType::CredentialReplayOneDesk,
        users,
        ip,
        description: format!(
            "{}'s workstation {ip} authenticates successfully as {m} other accounts (network logons \
             to fs-01/dc-01) within {} minutes from {}: harvested credentials replayed from one desk",
            owner.name,
            dur / MINUTE_MS,
            when(start)
        ),
        events,
    })
}

fn off_hours(pl: &mut Planner) -> Option<Planned> {
    let target = pl.target_day(0.73);
    let strict = pl.established(target, |p| {
        p.is_stable_office() && p.start_min == 9 * 60 && p.end_min == 17 * 60
    });
    let loose = pl.established(target, |p| p.is_stable_office() && p.start_min >= 8 * 60);
    let any = pl.established(target, Person::is_stable_office);
    let cands = [strict, loose, any].into_iter().find(|c| !c.is_empty())?;
    let v = pl.pick(&cands)?;
    pl.used.insert(v);
    let p = pl.person(v).clone();
    let day = pl.workday_from(target);
    let ip = p.desk_on(day)?;
    let n = pl.rng.range(1, 2);
    let mut ts =
        pl.org.local_midnight(day, p.tz_min) + 3 * HOUR_MS + pl.rng.range(0, 20) * MINUTE_MS + pl.rng.range(0, 59_999);
    let mut events = Vec::new();
    for _ in 0..n {
        let (host, channel) = pl.host_of(&p);
        events.push(ev(&p.name, ts, ip, host, channel, true));
        ts += pl.rng.range(2, 8) * MINUTE_MS + pl.rng.range(0, 59_999);
    }
    let first = events[0].timestamp_ms;
    Some(Planned {
        kind: LabelType::OffHoursLogon,
        users: vec![p.name.clone()],
        ip,
        description: format!(
            "{} (works {:02}:{:02}–{:02}:{:02} local, UTC{:+}h) logs on at 03:{:02} local time \
             from their usual address {ip}: {n} successful logon(s) from {}",
            p.name,
            p.start_min / 60,
            p.start_min % 60,
            p.end_min / 60,
            p.end_min % 60,
            p.tz_min / 60,
            (first - pl.org.local_midnight(day, p.tz_min) - 3 * HOUR_MS) / MINUTE_MS,
            when(first)
        ),
        events,
    })
}

fn dormant(pl: &mut Planner) -> Option<Planned> {
    let target = pl.target_day(0.83);
    let d = (0..pl.org.people.len()).find(|&i| pl.person(i).profile == Profile::Dormant)?;
    pl.used.insert(d);
    let p = pl.person(d).clone();
    let day = pl.workday_from(target);
    let ip = p.desk_on(0)?;
    let n = pl.rng.range(2, 3);
    let mut ts = pl.work_time(&p, day, 30, 90);
    let mut events = Vec::new();
    for _ in 0..n {
        let (host, channel) = pl.host_of(&p);
        events.push(ev(&p.name, ts, ip, host, channel, true));
        ts += pl.rng.range(5, 25) * MINUTE_MS + pl.rng.range(0, 59_999);
    }
    let first = events[0].timestamp_ms;
    Some(Planned {
        kind: LabelType::DormantAccount,
        users: vec![p.name.clone()],
        ip,
        description: format!(
            "dormant account {} (last used on the period's first two days) logs on again from {ip}: \
             {n} successful logon(s) from {}",
            p.name,
            when(first)
        ),
        events,
    })
}
