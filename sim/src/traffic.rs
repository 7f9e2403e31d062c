//! Everyday (benign) authentication traffic, and the labels for its benign novelty.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::event::{Event, HOSTS};
use crate::org::{Org, Person, Profile};
use crate::rng::Rng;
use crate::time::{format_rfc3339, is_workday, MINUTE_MS, SECOND_MS};
use crate::truth::Label;

/// 15 minutes, the service accounts' schedule.
const SLOT_MS: i64 = 15 * MINUTE_MS;
/// Probability that a person's logon is preceded by a typo failure.
const TYPO_RATE: f64 = 0.03;
/// Probability that a person takes a working day off.
const DAY_OFF_RATE: f64 = 0.04;

/// The benign events of the whole organisation, in generation order (person by person), clipped
/// to the period. Each account draws from its own random stream.
pub fn benign_events(seed: u64, org: &Org) -> Vec<Event> {
    let mut out = Vec::new();
    for (i, p) in org.people.iter().enumerate() {
        let mut rng = Rng::derive(seed, 0x1000 + i as u64);
        if p.service.is_some() {
            service_events(org, p, &mut rng, &mut out);
        } else {
            person_events(org, p, &mut rng, &mut out);
        }
    }
    out.retain(|e| (org.start_ms..org.end_ms).contains(&e.timestamp_ms));
    out
}

fn push_logon(out: &mut Vec<Event>, rng: &mut Rng, p: &Person, ts: i64, ip: Ipv4Addr) {
    let host = HOSTS[p.hosts[rng.index(p.hosts.len())]];
    if rng.chance(TYPO_RATE) {
        out.push(Event {
            timestamp_ms: ts - rng.range(3, 40) * SECOND_MS - rng.range(0, 999),
            user: p.name.clone(),
            source_ip: ip,
            host: host.name,
            channel: host.channel,
            success: false,
            attack: None,
        });
    }
    out.push(Event {
        timestamp_ms: ts,
        user: p.name.clone(),
        source_ip: ip,
        host: host.name,
        channel: host.channel,
        success: true,
        attack: None,
    });
}

fn person_events(org: &Org, p: &Person, rng: &mut Rng, out: &mut Vec<Event>) {
    for day in p.first_day..p.last_day {
        let weekday = org.weekday(day);
        let mut tz = p.tz_min;
        let ips: Vec<Ipv4Addr>;
        let count;
        if let Some(trip) = p.trip_on(day) {
            tz += trip.tz_shift_min;
            if !is_workday(weekday) && rng.chance(0.5) {
                continue;
            }
            // One or two of the hotel's addresses that day.
            let a = trip.ips[rng.index(trip.ips.len())];
            let b = trip.ips[rng.index(trip.ips.len())];
            ips = if a == b { vec![a] } else { vec![a, b] };
            count = rng.range(1, 3);
        } else {
            if p.profile != Profile::Dormant {
                if !is_workday(weekday) {
                    continue;
                }
                // No days off in the first week, so that every habitual address (desk, home
                // weekday) is seen early and later novelty is only what the truth labels.
                if day >= p.first_day + 7 && rng.chance(DAY_OFF_RATE) {
                    continue;
                }
            }
            let ip = match p.profile {
                Profile::Vpn => p.vpn.get(day as usize).copied().flatten(),
                _ => match (p.home, p.home_weekday) {
                    (Some(home), Some(wd)) if wd == weekday => Some(home),
                    _ => p.desk_on(day),
                },
            };
            let Some(ip) = ip else { continue };
            ips = vec![ip];
            count = rng.range(p.logons.0, p.logons.1);
        }
        let midnight = org.local_midnight(day, tz);
        for _ in 0..count {
            let minute = rng.range(p.start_min, p.end_min - 1);
            let ts = midnight + minute * MINUTE_MS + rng.range(0, 59_999);
            let ip = ips[rng.index(ips.len())];
            push_logon(out, rng, p, ts, ip);
        }
    }
}

fn service_events(org: &Org, p: &Person, rng: &mut Rng, out: &mut Vec<Event>) {
    let Some(plan) = &p.service else { return };
    let slots = (org.end_ms - org.start_ms) / SLOT_MS;
    for k in 0..slots {
        let ts = org.start_ms + k * SLOT_MS + plan.phase_ms + rng.range(0, 20_000);
        let ip = plan.ips[k as usize % plan.ips.len()];
        let host = HOSTS[plan.hosts[k as usize % plan.hosts.len()]].name;
        let event = |ts: i64, success: bool| Event {
            timestamp_ms: ts,
            user: p.name.clone(),
            source_ip: ip,
            host,
            channel: plan.channel,
            success,
            attack: None,
        };
        if plan.noisy && rng.chance(0.10) {
            // A stale password somewhere: one to three failures, then the right one.
            let fails = rng.range(1, 3);
            for j in 0..fails {
                out.push(event(ts - (fails - j) * rng.range(2, 6) * SECOND_MS, false));
            }
        }
        out.push(event(ts, true));
    }
}

/// Labels the benign novelty the organisation plan produced, keeping only candidates that
/// actually show up in `events`. Ids are `B1`, `B2`, … in order of start time.
pub fn benign_labels(org: &Org, events: &[Event]) -> Vec<Label> {
    let mut by_user_ip: BTreeMap<(&str, Ipv4Addr), Vec<(i64, bool)>> = BTreeMap::new();
    for e in events {
        by_user_ip
            .entry((e.user.as_str(), e.source_ip))
            .or_default()
            .push((e.timestamp_ms, e.success));
    }
    let mut labels = Vec::new();
    for c in &org.benign {
        let user = org.people[c.person].name.as_str();
        let Some(list) = by_user_ip.get(&(user, c.ip)) else {
            continue;
        };
        let hits: Vec<(i64, bool)> = list
            .iter()
            .copied()
            .filter(|(t, _)| (c.from_ms..c.to_ms).contains(t))
            .collect();
        let (Some(start), Some(end)) = (hits.iter().map(|h| h.0).min(), hits.iter().map(|h| h.0).max()) else {
            continue;
        };
        labels.push(Label {
            id: String::new(),
            kind: c.kind,
            users: vec![user.to_string()],
            source_ip: c.ip.to_string(),
            start_ms: start,
            end_ms: end,
            start: format_rfc3339(start),
            end: format_rfc3339(end),
            events: hits.len(),
            successes: hits.iter().filter(|h| h.1).count(),
            description: c.description.clone(),
        });
    }
    labels.sort_by(|a, b| (a.start_ms, &a.users, &a.source_ip).cmp(&(b.start_ms, &b.users, &b.source_ip)));
    for (k, l) in labels.iter_mut().enumerate() {
        l.id = format!("B{}", k + 1);
    }
    labels
}
