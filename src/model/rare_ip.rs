//! `auth_rare_source_ip_for_a_user`: per-user history of source addresses and networks, and the
//! two scoring profiles over it.
//!
//! # State
//! Per user: every address they logged on from (days and buckets seen, first/last seen, Elastic's
//! decayed Dirichlet concentration), the /24 and /16 networks (IPv6: /64, /48) those addresses sit
//! in, and decayed counts of how often the user turned up somewhere new. Per organisation: which
//! users use each address and each /16, so an address can be recognised as a colleague's desk or as
//! shared infrastructure.
//!
//! # Adaptive scoring (default)
//! For a logon from an address the user has not used before, the model asks *how often does this
//! user present this kind of novelty?* at the finest level where the address is new:
//! - a **new site** (/16): the user's novelty probability at site level is the larger of a
//!   Good–Turing estimate over their site sightings — `(N1 + a) / (N + b)`, N1 = sites seen on
//!   exactly one day, N = site-day sightings — and their recent discovery rate (new sites per active
//!   day, decayed with a 3-day half-life, over a week of quiet pseudo-days), so a user who roams *now* is expected to roam. For a network
//!   nobody in the organisation uses, N1 counts only the user's one-day networks that nobody else
//!   uses either: a home ISP shared with colleagues says nothing about a hosting range;
//! - a **new subnet** (/24) inside a site they use: the same at subnet level, ×5 since a known site
//!   is partial familiarity (an ISP or VPN pool hands out addresses across it);
//! - a **new address inside a subnet they use** (DHCP renumbering, VPN pool): capped at 40, never
//!   alerting by itself;
//!
//! then adjusts for what the organisation knows about the address:
//! - the habitual address of **another user** (seen for them on ≥ 3 days in the last 14, shared by
//!   at most 2 users): a colleague's workstation — lateral movement — scored at least 90;
//! - an address **shared** by ≥ 3 other users (NAT, VPN concentrator, jump host): probability ×10;
//! - a new site, or a new subnet of a site, used by ≥ 5 other users (an office network, a VPN pool
//!   spread over several /24s): probability ×4;
//! - a named **known network** (config `known_networks`): one place — a new address inside one the
//!   user uses is at most 40; inside one they have not used, probability ×4;
//! - an **allowlisted** network or user, or a pair an analyst **marked benign**: 0.
//!
//! The probability maps to 0–100 on a log scale: p = 0.5 → 0, p = 0.011 → 100. A user whose history
//! spans fewer than `learning_days` (7) days or `min_active_days` (3) active days is `learning`
//! and never scores. An address seen before scores at most 40 (lower the more it is used).
//!
//! # Elastic scoring
//! See [`super::elastic_math`]: a decayed Dirichlet over the user's addresses, sampled per active
//! bucket, the probability of less likely categories, and the job-wide quantile normaliser.

use serde::{Deserialize, Serialize};

use super::compact::{IpMap, KeyIndex};
use super::packed::{Lists, PackedUser, MAX_ENTRIES};
use crate::net::{format_network, IpKey, NetLevel};
use crate::time::format_rfc3339_ms;

/// Buckets per day for the 15-minute bucket span.
pub const BUCKETS_PER_DAY: i32 = 96;
/// Bucket span, milliseconds.
pub const BUCKET_MS: i64 = 900_000;

/// Good–Turing prior pseudo-counts: before any evidence a user is expected to turn up somewhere
/// new on one active day in ten.
const PRIOR_NOVEL: f64 = 0.25;
const PRIOR_DAYS: f64 = 2.5;
/// Half-life, in days, of the recent-discovery rate: "is this user roaming right now?".
const RECENT_HALF_LIFE_DAYS: f64 = 3.0;
/// Quiet pseudo-days added to the recent-discovery rate.
const RECENT_PRIOR_DAYS: f64 = 7.0;
/// Probability that maps to score 0, and the one that maps to 100.
const P_SCORE_ZERO: f64 = 0.5;
const P_SCORE_FULL: f64 = 0.011;
/// A known site is partial familiarity: novelty inside it is this much less surprising.
const SUBNET_IN_KNOWN_SITE_FACTOR: f64 = 5.0;
/// Ceiling for a new address inside a subnet the user already uses, and for known addresses.
const FAMILIAR_CEILING: f64 = 40.0;
/// Colleague's-desk floor.
const OWNED_BY_OTHER_FLOOR: f64 = 90.0;
/// Ownership: the other user used the address on at least this many days …
const OWNER_MIN_DAYS: u16 = 3;
/// … the last time at most this many days ago …
const OWNER_MAX_IDLE_DAYS: i32 = 14;
/// … on at least this share of their active days …
const OWNER_MIN_SHARE: f64 = 0.3;
/// … while holding at most this many addresses in that subnet (a VPN user holds many) …
const OWNER_MAX_ADDRESSES_IN_SUBNET: usize = 2;
/// … and at most this many in its /16 (a desk, a renumbered desk, a docking station) …
const OWNER_MAX_ADDRESSES_IN_SITE: usize = 3;
/// … after at least this many active days …
const OWNER_MIN_ACTIVE_DAYS: u32 = 7;
/// … and the address has at most this many users in all.
const OWNER_MAX_USERS: u16 = 2;
/// Addresses with at least this many other users are shared infrastructure.
const SHARED_ADDRESS_USERS: u16 = 3;
const SHARED_ADDRESS_FACTOR: f64 = 10.0;
/// Sites with at least this many other users are organisation networks.
const ORG_SITE_USERS: u16 = 5;
const ORG_SITE_FACTOR: f64 = 4.0;
/// Records are written for first occurrences and for anything scoring at least this.
pub const RECORD_MIN_SCORE: f64 = 25.0;

/// One address in a user's history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressHistory {
    /// The address.
    pub ip: IpKey,
    /// Bucket index (epoch ms / 900 000) of the first sighting.
    pub first_bucket: i32,
    /// Bucket index of the last sighting.
    pub last_bucket: i32,
    /// Distinct days with a sighting.
    pub days_seen: u16,
    /// Distinct buckets with a sighting.
    pub buckets_seen: u32,
    /// Elastic profile: decayed Dirichlet concentration.
    pub concentration: f32,
}

/// One network (subnet or site) in a user's history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkHistory {
    /// Network key (host bits zeroed).
    pub net: IpKey,
    /// Bucket index of the last sighting.
    pub last_bucket: i32,
    /// Distinct days with a sighting.
    pub days_seen: u16,
}

/// Decayed novelty counts at one level of the hierarchy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NoveltyRate {
    /// Decayed count of active days (after the user's first) on which something new turned up.
    pub discoveries: f32,
    /// Decayed count of active days after the user's first.
    pub days: f32,
    /// Last day a discovery was counted (one per day).
    pub last_discovery_day: i32,
}

impl NoveltyRate {
    fn decay(&mut self, days_elapsed: i32) {
        let f = 0.5f64.powf(days_elapsed.max(0) as f64 / RECENT_HALF_LIFE_DAYS) as f32;
        self.discoveries *= f;
        self.days *= f;
    }

    fn recent_rate(&self) -> f64 {
        // A week of quiet pseudo-days: one discovery (a home network first used on a
        // work-from-home day) does not make a user a roamer; a new network every few days does.
        self.discoveries as f64 / (self.days as f64 + RECENT_PRIOR_DAYS)
    }
}

/// Everything the model keeps about one user.
///
/// The name and the three lists live in one allocation ([`PackedUser`]): read them through
/// [`Self::name`], [`Self::addresses`], [`Self::subnets`] and [`Self::sites`]. Serialises exactly
/// as the struct of plain fields and lists it was before, so snapshots do not change.
#[derive(Clone, PartialEq)]
pub struct UserHistory {
    /// `user.name` (stored once: the name index borrows it) and the address, subnet and site lists.
    packed: PackedUser,
    /// Bucket index of the first sighting.
    pub first_bucket: i32,
    /// Bucket index of the last sighting.
    pub last_bucket: i32,
    /// Distinct active days.
    pub active_days: u32,
    /// Distinct active buckets.
    pub active_buckets: u32,
    /// Last active day number.
    pub last_active_day: i32,
    /// Novelty at subnet level.
    pub subnet_novelty: NoveltyRate,
    /// Novelty at site level.
    pub site_novelty: NoveltyRate,
    /// Elastic profile: total concentration a0.
    pub total_concentration: f32,
}

/// The serialised form of a [`UserHistory`] (the field order of the struct it used to be).
#[derive(Serialize)]
#[serde(rename = "UserHistory")]
struct UserHistoryOut<'a, A, N> {
    name: &'a str,
    first_bucket: i32,
    last_bucket: i32,
    active_days: u32,
    active_buckets: u32,
    last_active_day: i32,
    addresses: A,
    subnets: N,
    sites: N,
    subnet_novelty: &'a NoveltyRate,
    site_novelty: &'a NoveltyRate,
    total_concentration: f32,
}

/// A decoded list, serialised as a sequence of known length (like the `Vec` it was).
struct Seq<I>(I);

impl<I: ExactSizeIterator + Clone> Serialize for Seq<I>
where
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0.clone() {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

/// What [`UserHistoryOut`] wrote, read back.
#[derive(Deserialize)]
#[serde(rename = "UserHistory")]
struct UserHistoryIn {
    name: String,
    first_bucket: i32,
    last_bucket: i32,
    active_days: u32,
    active_buckets: u32,
    last_active_day: i32,
    addresses: Vec<AddressHistory>,
    subnets: Vec<NetworkHistory>,
    sites: Vec<NetworkHistory>,
    subnet_novelty: NoveltyRate,
    site_novelty: NoveltyRate,
    total_concentration: f32,
}

impl Serialize for UserHistory {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = &self.packed;
        UserHistoryOut {
            name: p.name(),
            first_bucket: self.first_bucket,
            last_bucket: self.last_bucket,
            active_days: self.active_days,
            active_buckets: self.active_buckets,
            last_active_day: self.last_active_day,
            addresses: Seq(p.addresses()),
            subnets: Seq(p.networks(false)),
            sites: Seq(p.networks(true)),
            subnet_novelty: &self.subnet_novelty,
            site_novelty: &self.site_novelty,
            total_concentration: self.total_concentration,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for UserHistory {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let u = UserHistoryIn::deserialize(deserializer)?;
        let longest = u.addresses.len().max(u.subnets.len()).max(u.sites.len());
        if longest > MAX_ENTRIES {
            // Learning never keeps more (`max_addresses_per_user` is at most 65 535).
            return Err(serde::de::Error::custom(format!(
                "user history list of {longest} entries (at most {MAX_ENTRIES})"
            )));
        }
        let lists = Lists {
            addresses: u.addresses,
            subnets: u.subnets,
            sites: u.sites,
        };
        Ok(UserHistory {
            packed: PackedUser::with_lists(&u.name, &lists),
            first_bucket: u.first_bucket,
            last_bucket: u.last_bucket,
            active_days: u.active_days,
            active_buckets: u.active_buckets,
            last_active_day: u.last_active_day,
            subnet_novelty: u.subnet_novelty,
            site_novelty: u.site_novelty,
            total_concentration: u.total_concentration,
        })
    }
}

impl std::fmt::Debug for UserHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserHistory")
            .field("packed", &self.packed)
            .field("first_bucket", &self.first_bucket)
            .field("last_bucket", &self.last_bucket)
            .field("active_days", &self.active_days)
            .field("active_buckets", &self.active_buckets)
            .field("last_active_day", &self.last_active_day)
            .field("subnet_novelty", &self.subnet_novelty)
            .field("site_novelty", &self.site_novelty)
            .field("total_concentration", &self.total_concentration)
            .finish()
    }
}

impl UserHistory {
    fn new(name: &str, bucket: i32) -> Self {
        UserHistory {
            packed: PackedUser::new(name),
            first_bucket: bucket,
            last_bucket: bucket,
            active_days: 0,
            active_buckets: 0,
            last_active_day: i32::MIN,
            subnet_novelty: NoveltyRate::default(),
            site_novelty: NoveltyRate::default(),
            total_concentration: 0.0,
        }
    }

    /// `user.name`.
    pub fn name(&self) -> &str {
        self.packed.name()
    }

    /// `user.name` as bytes (to compare or hash without a UTF-8 check).
    pub fn name_bytes(&self) -> &[u8] {
        self.packed.name_bytes()
    }

    /// The user's addresses, in order (decoded copies).
    pub fn addresses(&self) -> impl ExactSizeIterator<Item = AddressHistory> + '_ {
        self.packed.addresses()
    }

    /// The user's /24 (v6 /64) networks, in order.
    pub fn subnets(&self) -> impl ExactSizeIterator<Item = NetworkHistory> + '_ {
        self.packed.subnets()
    }

    /// The user's /16 (v6 /48) networks, in order.
    pub fn sites(&self) -> impl ExactSizeIterator<Item = NetworkHistory> + '_ {
        self.packed.sites()
    }

    /// Elastic profile: every address's concentration, in order, and the position of `ip` among
    /// them.
    pub fn concentrations(&self, ip: IpKey) -> (impl ExactSizeIterator<Item = f32> + '_, Option<usize>) {
        self.packed.concentrations(&ip)
    }

    /// Number of addresses the user holds.
    pub fn address_count(&self) -> usize {
        self.packed.address_count()
    }

    /// The user's history of an address.
    pub fn address(&self, ip: IpKey) -> Option<AddressHistory> {
        self.packed.address(&ip)
    }

    /// The user's history of a network.
    pub fn network(&self, net: IpKey, level: NetLevel) -> Option<NetworkHistory> {
        self.packed.network(level == NetLevel::Site, &net)
    }

    fn networks(&self, level: NetLevel) -> impl ExactSizeIterator<Item = NetworkHistory> + '_ {
        self.packed.networks(level == NetLevel::Site)
    }

    /// How many of the user's addresses share `ip`'s network at `level`.
    fn addresses_in(&self, ip: IpKey, level: NetLevel) -> usize {
        let net = ip.network(level);
        self.addresses().filter(|x| x.ip.network(level) == net).count()
    }

    /// Days between the first sighting and `bucket`.
    pub fn history_days(&self, bucket: i32) -> f64 {
        (i64::from(bucket) - i64::from(self.first_bucket)) as f64 / BUCKETS_PER_DAY as f64
    }

    /// Approximate heap + inline bytes.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.packed.heap_bytes()
    }

    /// Good–Turing estimate of the probability of a new network at `level`, smoothed.
    fn good_turing(&self, level: NetLevel) -> f64 {
        let singletons = self.networks(level).filter(|n| n.days_seen <= 1).count();
        self.good_turing_with(level, singletons)
    }

    /// [`Self::good_turing`] with the singletons counted by the caller.
    fn good_turing_with(&self, level: NetLevel, singletons: usize) -> f64 {
        let sightings: f64 = self.networks(level).map(|n| n.days_seen as f64).sum();
        (singletons as f64 + PRIOR_NOVEL) / (sightings + PRIOR_DAYS)
    }

    fn novelty_probability(&self, level: NetLevel) -> f64 {
        let recent = match level {
            NetLevel::Subnet => self.subnet_novelty.recent_rate(),
            NetLevel::Site => self.site_novelty.recent_rate(),
        };
        self.good_turing(level).max(recent)
    }
}

/// Whether `bucket` is one of `day`'s buckets (`bucket.div_euclid(BUCKETS_PER_DAY) == day`), by
/// a range check: learning asks this for every address and network of a bucket, and the division
/// costs several multiplications and shifts.
fn on_day(bucket: i32, day: i32) -> bool {
    let first = i64::from(day) * i64::from(BUCKETS_PER_DAY);
    ((i64::from(bucket) - first) as u64) < BUCKETS_PER_DAY as u64
}

/// A known address seen again in `bucket` (of `day`).
fn touch_address(a: &mut AddressHistory, day: i32, bucket: i32) {
    if !on_day(a.last_bucket, day) {
        a.days_seen = a.days_seen.saturating_add(1);
    }
    a.last_bucket = bucket;
    a.buckets_seen = a.buckets_seen.saturating_add(1);
    a.concentration += 1.0;
}

/// A known network seen again in `bucket` (of `day`).
fn touch_network(n: &mut NetworkHistory, day: i32, bucket: i32) {
    if !on_day(n.last_bucket, day) {
        n.days_seen = n.days_seen.saturating_add(1);
    }
    n.last_bucket = bucket;
}

/// Which users use an address (organisation-wide).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AddressUsers {
    /// Up to two user ids (`u32::MAX` = empty slot): enough to name an owner.
    pub users: [u32; 2],
    /// Number of users with this address in their history.
    pub count: u16,
}

/// Which users use each address (organisation-wide), as an `IpMap<AddressUsers>` would hold it
/// but in 8 bytes an IPv4 entry instead of 16: nearly every address has one user (a desk, a
/// home), so the second slot and the count are stored apart, only where they are needed: the
/// second slot where it is filled (an address two users share), the count where it is not the
/// number of filled slots (three or more users, or a slot emptied while other users remain).
///
/// Serialises exactly like an `IpMap<AddressUsers>`, so snapshots do not change; `first` sees
/// the same inserts and removals as one map of both slots would, so entries also come out in the
/// same order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AddressUsersMap {
    /// The first user slot of every address with users (`u32::MAX` when only the second is filled).
    first: IpMap<u32>,
    /// The second user slot, where it is filled.
    second: IpMap<u32>,
    /// The count of an address where it differs from its filled slots.
    counts: IpMap<u16>,
}

fn filled(users: &[u32; 2]) -> u16 {
    users.iter().filter(|&&u| u != u32::MAX).count() as u16
}

/// The value stored apart for `key` in `map`, which is usually empty: an empty map is not probed.
fn apart<V: Copy>(map: &IpMap<V>, key: &IpKey) -> Option<V> {
    if map.is_empty() {
        None
    } else {
        map.get(key).copied()
    }
}

/// Stores `value` apart for `key` in `map`, or with `None` forgets any value stored there.
fn set_apart<V: Copy>(map: &mut IpMap<V>, key: IpKey, value: Option<V>) {
    match value {
        Some(value) => *map.get_or_insert_with(key, || value) = value,
        None if !map.is_empty() => {
            map.remove(&key);
        }
        None => {}
    }
}

impl AddressUsersMap {
    /// The users of `ip`.
    pub fn get(&self, ip: &IpKey) -> Option<AddressUsers> {
        let first = *self.first.get(ip)?;
        let users = [first, apart(&self.second, ip).unwrap_or(u32::MAX)];
        Some(AddressUsers {
            users,
            count: apart(&self.counts, ip).unwrap_or_else(|| filled(&users)),
        })
    }

    /// Stores `e` as the users of `ip`.
    pub fn put(&mut self, ip: IpKey, e: AddressUsers) {
        let [first, second] = e.users;
        *self.first.get_or_insert_with(ip, || first) = first;
        set_apart(&mut self.second, ip, Some(second).filter(|&id| id != u32::MAX));
        set_apart(
            &mut self.counts,
            ip,
            Some(e.count).filter(|&count| count != filled(&e.users)),
        );
    }

    /// Forgets `ip`.
    pub fn remove(&mut self, ip: &IpKey) {
        self.first.remove(ip);
        set_apart(&mut self.second, *ip, None);
        set_apart(&mut self.counts, *ip, None);
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether no address has users.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// Replaces every filled slot's id by `new_id(id)` (`u32::MAX` empties it), counts unchanged.
    pub fn remap_users(&mut self, new_id: impl Fn(u32) -> u32) {
        let remap = |id: u32| if id == u32::MAX { id } else { new_id(id) };
        // Addresses whose filled slots change keep their count, stored apart by `put` below.
        let mut recount: Vec<(IpKey, AddressUsers)> = Vec::new();
        for (ip, first) in self.first.iter_mut() {
            let before = [*first, apart(&self.second, &ip).unwrap_or(u32::MAX)];
            let after = before.map(remap);
            if filled(&after) != filled(&before) {
                let count = apart(&self.counts, &ip).unwrap_or(filled(&before));
                recount.push((ip, AddressUsers { users: after, count }));
            }
            *first = after[0];
        }
        for (_, second) in self.second.iter_mut() {
            *second = remap(*second);
        }
        self.second.retain(|second| *second != u32::MAX);
        for (ip, e) in recount {
            self.put(ip, e);
        }
    }

    /// Gives back spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.first.shrink_to_fit();
        self.second.shrink_to_fit();
        self.counts.shrink_to_fit();
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.first.heap_bytes() + self.second.heap_bytes() + self.counts.heap_bytes()
    }
}

impl Serialize for AddressUsersMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.first.iter().map(|(ip, _)| (ip, self.get(&ip).unwrap_or_default())))
    }
}

impl<'de> Deserialize<'de> for AddressUsersMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let all = IpMap::<AddressUsers>::deserialize(deserializer)?;
        let mut map = AddressUsersMap::default();
        for (ip, e) in all.iter() {
            map.put(ip, e.clone());
        }
        Ok(map)
    }
}

/// The name of user `id`, as bytes (the index compares bytes: no UTF-8 check per probe); empty if
/// out of range (the index only holds ids it was given).
fn name_of(users: &[UserHistory], id: u32) -> &[u8] {
    users.get(id as usize).map_or(&[], |u| u.packed.name_bytes())
}

/// What is new about an address, for a user.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Novelty {
    /// The address was seen before.
    None,
    /// A new address inside a /24 (/64) the user uses.
    Address,
    /// A new /24 (/64) inside a /16 (/48) the user uses.
    Subnet,
    /// A /16 (/48) the user has never used.
    Site,
}

/// The state a verdict reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentState {
    /// Not enough history for this user yet: never alerts.
    Learning,
    /// An address the user has used before.
    KnownAddress,
    /// An address the user has not used before.
    NewAddress,
    /// The address is in an allowlisted network.
    Allowlisted,
}

/// An address the user typically uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypicalAddress {
    /// The address.
    pub ip: String,
    /// Days seen.
    pub days_seen: u16,
    /// First seen, RFC 3339.
    pub first_seen: String,
    /// Last seen, RFC 3339.
    pub last_seen: String,
}

/// A network the user typically uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypicalNetwork {
    /// CIDR.
    pub network: String,
    /// Days seen.
    pub days_seen: u16,
}

/// The colleague whose habitual address this is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressOwner {
    /// Their `user.name`.
    pub user: String,
    /// Days they used the address.
    pub days_seen: u16,
    /// When they last used it, RFC 3339.
    pub last_seen: String,
}

/// The evidence behind a score: everything a person needs to check it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Learning, known address, new address, allowlisted.
    pub state: AssessmentState,
    /// What is new about the address.
    pub novelty: Novelty,
    /// Elastic's `by_field_first_occurrence`: the user has never used this address (or it was
    /// pruned).
    pub by_field_first_occurrence: bool,
    /// Days on which the user used this address before.
    pub sightings_days: u16,
    /// Buckets in which the user used this address before.
    pub sightings_buckets: u32,
    /// First time the user used it, RFC 3339.
    pub first_seen: Option<String>,
    /// Last time the user used it, RFC 3339.
    pub last_seen: Option<String>,
    /// Days since the user's first logon.
    pub user_history_days: f64,
    /// Distinct days the user was active.
    pub user_active_days: u32,
    /// The probability the model gave this novelty for this user (lower is more unusual).
    pub novelty_probability: f64,
    /// The user's most used addresses.
    pub typical_addresses: Vec<TypicalAddress>,
    /// The user's most used /16 (/48) networks.
    pub typical_networks: Vec<TypicalNetwork>,
    /// Other users with this address in their history.
    pub shared_with_users: u16,
    /// The colleague whose habitual address this is, if any.
    pub owner: Option<AddressOwner>,
    /// Adjustments applied, in words.
    pub factors: Vec<String>,
    /// One sentence: who, from where, what was typical, why it is (not) unusual.
    pub reason: String,
}

/// Whether an assessment writes its evidence texts (see [`RareIpModel::assess_adaptive`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Texts {
    /// The reason sentence, factors, typical addresses and networks, first/last seen.
    Written,
    /// Numbers only: the texts left empty.
    Skipped,
}

/// A scored (user, address) observation.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// 0–100.
    pub score: f64,
    /// The probability behind the score.
    pub probability: f64,
    /// Why.
    pub evidence: Evidence,
}

/// Maps a probability to 0–100 on a log scale (0.5 → 0, 0.011 → 100).
pub fn probability_to_score(p: f64) -> f64 {
    if !p.is_finite() || p <= 0.0 {
        return 100.0;
    }
    (100.0 * (P_SCORE_ZERO / p).ln() / (P_SCORE_ZERO / P_SCORE_FULL).ln()).clamp(0.0, 100.0)
}

/// The probability above which [`probability_to_score`] is surely below `score` (0–100): the
/// inverse of the scale, raised by a relative 1e-9 so that rounding in either direction cannot
/// put a probability above it at or over `score`.
pub fn probability_surely_scoring_below(score: f64) -> f64 {
    let p = P_SCORE_ZERO * (-score / 100.0 * (P_SCORE_ZERO / P_SCORE_FULL).ln()).exp();
    p * (1.0 + 1e-9)
}

/// A name's first 16 bytes, zero-padded, as a big-endian integer: such integers compare as the
/// names' bytes do wherever they differ in those 16 bytes (equal prefixes leave the order to the
/// whole names). Sort keys of the bucket close and of eviction.
pub(crate) fn name_prefix(name: &[u8]) -> u128 {
    let mut prefix = [0u8; 16];
    let n = name.len().min(16);
    prefix[..n].copy_from_slice(&name[..n]);
    u128::from_be_bytes(prefix)
}

/// A user's place in the eviction order, precomputed so that ordering millions of users compares
/// integers, not histories, in 24 bytes a user: `(holds addresses, active days up to a week, last
/// bucket)` packed into 36 bits, then the name's first 124 bits (zero-padded, big-endian: compares
/// as the bytes do; the whole names are compared only when these tie), then the id.
#[derive(Clone, Copy)]
struct EvictionKey {
    /// The rank, then the name's first 28 bits.
    high: u64,
    /// The name's next 64 bits.
    middle: u64,
    /// The name's next 32 bits.
    low: u32,
    id: u32,
}

/// Bits of [`EvictionKey::high`] below the rank.
const RANK_SHIFT: u32 = 28;

impl EvictionKey {
    fn of(id: u32, u: &UserHistory) -> Self {
        let holds_addresses = u64::from(u.address_count() > 0);
        let days = u64::from(u.active_days.min(7));
        // Sign bit flipped: i32 order as u32 order.
        let last = u64::from(u.last_bucket as u32 ^ 0x8000_0000);
        let rank = holds_addresses << 35 | days << 32 | last;
        let name_bits = name_prefix(u.name_bytes()) >> 4;
        EvictionKey {
            high: rank << RANK_SHIFT | (name_bits >> 96) as u64,
            middle: (name_bits >> 32) as u64,
            low: name_bits as u32,
            id,
        }
    }

    /// Whether the user holds no addresses (they go first).
    fn is_empty_user(&self) -> bool {
        self.high >> (RANK_SHIFT + 35) == 0
    }
}

/// The per-user and organisation-wide state of the job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RareIpModel {
    /// Users by id.
    pub users: Vec<UserHistory>,
    /// `user.name` → id, over the names in `users`.
    #[serde(skip)]
    index: KeyIndex,
    /// Room to decode one user's lists into while learning (empty between calls; reused so that a
    /// steady stream allocates nothing for it).
    #[serde(skip)]
    scratch: Lists,
    /// Address → users who use it.
    pub address_users: AddressUsersMap,
    /// Site network → number of users who use it.
    pub site_users: IpMap<u16>,
    /// Tracked (user, address) pairs.
    pub pairs: usize,
    /// The sum of the users' [`UserHistory::memory_bytes`], kept with every change to a user's
    /// size so that [`Self::memory_bytes`], asked every bucket near the memory limit, need not
    /// walk millions of users. Derived: recounted by [`Self::rebuild_index`].
    #[serde(skip)]
    user_bytes: UserBytes,
}

/// A derived running total: two models with equal histories are equal whatever it holds (a
/// restored model recounts it).
#[derive(Clone, Copy, Debug, Default)]
struct UserBytes(usize);

impl PartialEq for UserBytes {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// What the configuration and analysts say about one (user, address) before it is scored.
#[derive(Clone, Debug, Default)]
pub struct AssessContext {
    /// Why the logon is not scored at all (allowlisted network or user, marked benign).
    pub allow: Option<String>,
    /// The named known network the address is in, and whether the user has used it before.
    pub known_network: Option<(String, bool)>,
}

/// Organisation-level knobs the model needs from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct ModelLimits {
    /// Days of history before a user can alert.
    pub learning_days: f64,
    /// Active days before a user can alert.
    pub min_active_days: u32,
    /// Per-user address cap.
    pub max_addresses_per_user: usize,
    /// Idle buckets after which an address is forgotten.
    pub prune_buckets: i32,
}

impl RareIpModel {
    /// Rebuilds the name index and the users' byte total after deserialisation.
    pub fn rebuild_index(&mut self) {
        let users = &self.users;
        self.index.rebuild(users.len(), |id| name_of(users, id));
        self.user_bytes.0 = users.iter().map(UserHistory::memory_bytes).sum();
    }

    /// The id of a user, if known.
    pub fn user_id(&self, name: &str) -> Option<u32> {
        let users = &self.users;
        self.index.get(name.as_bytes(), |id| name_of(users, id))
    }

    /// The id of a user, adding them.
    pub fn intern(&mut self, name: &str, bucket: i32) -> u32 {
        if let Some(id) = self.user_id(name) {
            return id;
        }
        let id = self.users.len() as u32;
        let user = UserHistory::new(name, bucket);
        self.user_bytes.0 += user.memory_bytes();
        self.users.push(user);
        let users = &self.users;
        self.index.insert(name.as_bytes(), id, &|id| name_of(users, id));
        id
    }

    /// A user's history.
    pub fn user(&self, id: u32) -> Option<&UserHistory> {
        self.users.get(id as usize)
    }

    /// Number of users with history.
    pub fn user_count(&self) -> usize {
        self.users.iter().filter(|u| u.active_buckets > 0).count()
    }

    /// Approximate memory held, bytes.
    pub fn memory_bytes(&self) -> usize {
        let users = self.user_bytes.0;
        debug_assert_eq!(users, self.users.iter().map(UserHistory::memory_bytes).sum::<usize>());
        let index = self.index.heap_bytes();
        let org = self.address_users.heap_bytes() + self.site_users.heap_bytes();
        users + index + org
    }

    /// Adds one closed bucket's sightings of a user: `ips` are the distinct addresses seen.
    /// Updates day/bucket counts, networks, novelty rates, the organisation index and Elastic's
    /// Dirichlet (+1 per distinct address, then decay).
    pub fn learn_bucket(&mut self, uid: u32, bucket: i32, ips: &[IpKey], limits: &ModelLimits, elastic_decay: f32) {
        let day = bucket.div_euclid(BUCKETS_PER_DAY);
        let Some(user) = self.users.get_mut(uid as usize) else {
            return;
        };
        // Everything is new on a user's first day: discoveries count from the second day on.
        let first_day = on_day(user.first_bucket, day);
        if day != user.last_active_day {
            if !first_day {
                // Saturating: a restored snapshot may hold any day numbers.
                let elapsed = day.saturating_sub(user.last_active_day);
                user.subnet_novelty.decay(elapsed);
                user.site_novelty.decay(elapsed);
                user.subnet_novelty.days += 1.0;
                user.site_novelty.days += 1.0;
            }
            user.active_days += 1;
        }
        user.last_active_day = day;
        user.active_buckets += 1;
        user.last_bucket = bucket;
        // The usual bucket: every address and network is known, so the lists keep their shape and
        // are updated in place, with the steps of the general path below in its order. At the
        // first address that is new somewhere, the general path takes over from there.
        let p = &mut user.packed;
        let mut known = 0;
        for ip in ips {
            let touch_net = |n: &mut NetworkHistory| touch_network(n, day, bucket);
            if !p.update_known(ip, |a| touch_address(a, day, bucket), touch_net) {
                break;
            }
            user.total_concentration += 1.0;
            known += 1;
        }
        let Some(ips) = ips.get(known..).filter(|rest| !rest.is_empty()) else {
            if elastic_decay < 1.0 {
                p.scale_concentrations(elastic_decay);
                user.total_concentration = (user.total_concentration * elastic_decay).max(0.0);
            }
            return;
        };
        let mut lists = std::mem::take(&mut self.scratch);
        user.packed.decode_into(&mut lists);
        // Lengths are stored in 16 bits; the configuration allows at most that anyway.
        let max_entries = limits.max_addresses_per_user.min(MAX_ENTRIES);
        let mut new_addresses: Vec<IpKey> = Vec::new();
        let mut removed: Vec<IpKey> = Vec::new();
        let mut new_sites: Vec<IpKey> = Vec::new();
        let mut removed_sites: Vec<IpKey> = Vec::new();
        for &ip in ips {
            match lists.addresses.iter_mut().find(|a| a.ip == ip) {
                Some(a) => touch_address(a, day, bucket),
                None => {
                    if lists.addresses.len() >= max_entries {
                        // Forget the least recently used address; it is new again if it returns.
                        if let Some((i, _)) = lists
                            .addresses
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, a)| (a.last_bucket, a.ip))
                        {
                            let gone = lists.addresses.swap_remove(i);
                            user.total_concentration -= gone.concentration;
                            removed.push(gone.ip);
                        }
                    }
                    lists.addresses.push(AddressHistory {
                        ip,
                        first_bucket: bucket,
                        last_bucket: bucket,
                        days_seen: 1,
                        buckets_seen: 1,
                        concentration: 1.0,
                    });
                    new_addresses.push(ip);
                }
            }
            user.total_concentration += 1.0;
            for level in [NetLevel::Subnet, NetLevel::Site] {
                let net = ip.network(level);
                let (list, novelty) = match level {
                    NetLevel::Subnet => (&mut lists.subnets, &mut user.subnet_novelty),
                    NetLevel::Site => (&mut lists.sites, &mut user.site_novelty),
                };
                match list.iter_mut().find(|n| n.net == net) {
                    Some(n) => touch_network(n, day, bucket),
                    None => {
                        if list.len() >= max_entries {
                            if let Some((i, _)) = list.iter().enumerate().min_by_key(|(_, n)| (n.last_bucket, n.net)) {
                                let gone = list.swap_remove(i);
                                if level == NetLevel::Site {
                                    removed_sites.push(gone.net);
                                }
                            }
                        }
                        list.push(NetworkHistory {
                            net,
                            last_bucket: bucket,
                            days_seen: 1,
                        });
                        if level == NetLevel::Site {
                            new_sites.push(net);
                        }
                        if !first_day && novelty.last_discovery_day != day {
                            novelty.discoveries += 1.0;
                            novelty.last_discovery_day = day;
                        }
                    }
                }
            }
        }
        // Elastic: decay after the bucket's samples, only for users with data in the bucket.
        if elastic_decay < 1.0 {
            for a in lists.addresses.iter_mut() {
                a.concentration *= elastic_decay;
            }
            user.total_concentration = (user.total_concentration * elastic_decay).max(0.0);
        }
        // One write back (in place unless the lists changed length or key width).
        let before = user.packed.heap_bytes();
        user.packed.encode(&lists);
        self.user_bytes.0 = self.user_bytes.0 - before + user.packed.heap_bytes();
        lists.clear();
        self.scratch = lists;
        self.pairs += new_addresses.len();
        self.pairs -= removed.len().min(self.pairs);
        for ip in new_addresses {
            let mut e = self.address_users.get(&ip).unwrap_or(AddressUsers {
                users: [u32::MAX; 2],
                count: 0,
            });
            e.count = e.count.saturating_add(1);
            if let Some(slot) = e.users.iter_mut().find(|s| **s == u32::MAX) {
                *slot = uid;
            }
            self.address_users.put(ip, e);
        }
        for ip in removed {
            self.release_address(uid, ip);
        }
        for net in new_sites {
            let c = self.site_users.get_or_insert_with(net, || 0);
            *c = c.saturating_add(1);
        }
        for net in removed_sites {
            self.release_site(net);
        }
    }

    fn release_address(&mut self, uid: u32, ip: IpKey) {
        if let Some(mut e) = self.address_users.get(&ip) {
            e.count = e.count.saturating_sub(1);
            for s in e.users.iter_mut() {
                if *s == uid {
                    *s = u32::MAX;
                }
            }
            if e.count == 0 {
                self.address_users.remove(&ip);
            } else {
                self.address_users.put(ip, e);
            }
        }
    }

    fn release_site(&mut self, net: IpKey) {
        if let Some(c) = self.site_users.get_mut(&net) {
            *c = c.saturating_sub(1);
            if *c == 0 {
                self.site_users.remove(&net);
            }
        }
    }

    /// Keeps memory at or under `target_bytes`: forgets users with no addresses left, then users
    /// with the least history (fewest active days, up to a week), least recently active first (an
    /// evicted user starts over, as after Elastic's pruning; unlike Elastic's age-only pruning, a
    /// flood of one-off names cannot push out established users). Returns how
    /// many users were evicted. Ids are compacted, so call it only when no bucket is pending.
    pub fn evict(&mut self, target_bytes: usize) -> usize {
        // Chosen first, so that the order's keys are freed before the kept users are copied.
        let (evict, evicted) = self.choose_evicted(target_bytes);
        if evicted == 0 {
            return 0;
        }
        let mut remap = vec![u32::MAX; self.users.len()];
        let mut kept = Vec::with_capacity(self.users.len() - evicted);
        let mut released: Vec<(u32, IpKey)> = Vec::new();
        let mut released_sites: Vec<IpKey> = Vec::new();
        for (uid, u) in std::mem::take(&mut self.users).into_iter().enumerate() {
            if evict[uid] {
                self.user_bytes.0 -= u.memory_bytes();
                released.extend(u.addresses().map(|a| (uid as u32, a.ip)));
                released_sites.extend(u.sites().map(|n| n.net));
            } else {
                remap[uid] = kept.len() as u32;
                kept.push(u);
            }
        }
        self.users = kept;
        self.pairs -= released.len().min(self.pairs);
        for (uid, ip) in released {
            self.release_address(uid, ip);
        }
        for net in released_sites {
            self.release_site(net);
        }
        self.address_users
            .remap_users(|id| remap.get(id as usize).copied().unwrap_or(u32::MAX));
        self.address_users.shrink_to_fit();
        self.users.shrink_to_fit();
        let users = &self.users;
        self.index.rebuild(users.len(), |id| name_of(users, id));
        evicted
    }

    /// Which users [`Self::evict`] forgets to reach `target_bytes` (by id), and how many.
    fn choose_evicted(&self, target_bytes: usize) -> (Vec<bool>, usize) {
        let users = &self.users;
        // Empty users first, then those with the least history (a spray of one-off names goes
        // before an established user who was merely quiet today), then the least recently active;
        // ties by name for determinism (and by id, as the stable sort this replaces kept them).
        let mut order: Vec<EvictionKey> = users
            .iter()
            .enumerate()
            .map(|(id, u)| EvictionKey::of(id as u32, u))
            .collect();
        let cmp = |a: &EvictionKey, b: &EvictionKey| {
            (a.high, a.middle, a.low)
                .cmp(&(b.high, b.middle, b.low))
                .then_with(|| name_of(users, a.id).cmp(name_of(users, b.id)))
                .then(a.id.cmp(&b.id))
        };
        let mut bytes = self.memory_bytes();
        let mut evict = vec![false; users.len()];
        let mut evicted = 0;
        // Only the evicted prefix of the order is needed: order a guess of its length (every empty
        // user and the bytes over target at the mean cost per user, with room to spare), walk it,
        // and order twice as many more of the rest if that was not enough. The smallest keys of
        // the rest, sorted, continue the order exactly as a full sort would.
        let pair_cost = std::mem::size_of::<(u32, [u32; 2])>() + 1;
        let mean_cost = ((self.user_bytes.0 + self.pairs * pair_cost) / users.len().max(1)).max(1);
        let empty = order.iter().filter(|k| k.is_empty_user()).count();
        let mut batch = empty + bytes.saturating_sub(target_bytes) / mean_cost * 5 / 4 + 64;
        let mut ordered = 0;
        'walk: while ordered < order.len() {
            let rest = &mut order[ordered..];
            let take = batch.min(rest.len());
            // Users who turn up in name order, each as often as the others, are in order already.
            if !rest.is_sorted_by(|a, b| cmp(a, b) != std::cmp::Ordering::Greater) {
                if take < rest.len() {
                    rest.select_nth_unstable_by(take - 1, cmp);
                }
                rest[..take].sort_unstable_by(cmp);
            }
            for key in &rest[..take] {
                let u = &users[key.id as usize];
                if u.address_count() > 0 && bytes <= target_bytes {
                    break 'walk;
                }
                // Each address also holds an organisation-index entry (4-byte key for IPv4, 12
                // bytes).
                bytes = bytes.saturating_sub(u.memory_bytes() + u.address_count() * pair_cost);
                evict[key.id as usize] = true;
                evicted += 1;
            }
            ordered += take;
            batch = batch.saturating_mul(2);
        }
        (evict, evicted)
    }

    /// Forgets addresses and networks idle for longer than the prune window (Elastic's
    /// `model_prune_window`).
    pub fn prune(&mut self, now_bucket: i32, prune_buckets: i32) {
        let cutoff = now_bucket.saturating_sub(prune_buckets);
        let mut released: Vec<(u32, IpKey)> = Vec::new();
        let mut released_sites: Vec<IpKey> = Vec::new();
        let mut lists = std::mem::take(&mut self.scratch);
        for (uid, user) in self.users.iter_mut().enumerate() {
            if user.last_bucket >= cutoff {
                // Fast path: only users with some idle entry need work.
                if user.packed.all_seen_since(cutoff) {
                    continue;
                }
            }
            user.packed.decode_into(&mut lists);
            let total = &mut user.total_concentration;
            lists.addresses.retain(|a| {
                let keep = a.last_bucket >= cutoff;
                if !keep {
                    *total -= a.concentration;
                    released.push((uid as u32, a.ip));
                }
                keep
            });
            user.total_concentration = user.total_concentration.max(0.0);
            lists.subnets.retain(|n| n.last_bucket >= cutoff);
            lists.sites.retain(|n| {
                let keep = n.last_bucket >= cutoff;
                if !keep {
                    released_sites.push(n.net);
                }
                keep
            });
            let before = user.packed.heap_bytes();
            user.packed.encode(&lists);
            self.user_bytes.0 = self.user_bytes.0 - before + user.packed.heap_bytes();
        }
        lists.clear();
        self.scratch = lists;
        self.pairs -= released.len().min(self.pairs);
        for (uid, ip) in released {
            self.release_address(uid, ip);
        }
        for net in released_sites {
            self.release_site(net);
        }
    }

    /// Scores a sighting of `ip` for user `uid` (None: a user never seen) in `bucket` with the
    /// adaptive profile, against the history learnt from closed buckets. With
    /// [`Texts::Skipped`] the numbers are the same (score, probability, state, novelty, counts)
    /// and the texts are left empty: the reason, factors, typical addresses and networks and
    /// first/last seen (an allowlisted sighting's reason, which names the allowlist entry, is
    /// always written). A record that is neither an output nor an alert needs only the numbers;
    /// its texts were most of its cost.
    #[allow(clippy::too_many_arguments)]
    pub fn assess_adaptive(
        &self,
        user_name: &str,
        uid: Option<u32>,
        ip: IpKey,
        bucket: i32,
        limits: &ModelLimits,
        context: &AssessContext,
        texts: Texts,
    ) -> Assessment {
        let texts = texts == Texts::Written;
        // `text(|| …)`: the text when texts are wanted, else an empty string, not built.
        let text = |f: &dyn Fn() -> String| if texts { f() } else { String::new() };
        let bucket_text = |b: i32| texts.then(|| format_rfc3339_ms(b as i64 * BUCKET_MS));
        let user = uid.and_then(|id| self.user(id));
        let history_days = user.map_or(0.0, |u| u.history_days(bucket));
        let active_days = user.map_or(0, |u| u.active_days);
        let addr = user.and_then(|u| u.address(ip));
        let mut ev = Evidence {
            state: AssessmentState::NewAddress,
            novelty: Novelty::None,
            by_field_first_occurrence: addr.is_none(),
            sightings_days: addr.map_or(0, |a| a.days_seen),
            sightings_buckets: addr.map_or(0, |a| a.buckets_seen),
            first_seen: addr.and_then(|a| bucket_text(a.first_bucket)),
            last_seen: addr.and_then(|a| bucket_text(a.last_bucket)),
            user_history_days: (history_days * 100.0).round() / 100.0,
            user_active_days: active_days,
            novelty_probability: 1.0,
            typical_addresses: user.filter(|_| texts).map(typical_addresses).unwrap_or_default(),
            typical_networks: user.filter(|_| texts).map(typical_networks).unwrap_or_default(),
            shared_with_users: 0,
            owner: None,
            factors: Vec::new(),
            reason: String::new(),
        };
        let others = self.address_users.get(&ip);
        ev.shared_with_users = others.map_or(0, |o| o.count.saturating_sub(u16::from(addr.is_some())));
        let typical = text(&|| describe_typical(&ev));

        if let Some(why) = &context.allow {
            ev.state = AssessmentState::Allowlisted;
            ev.reason = format!("{user_name} logged on from {ip}: {why}; not scored.");
            return Assessment {
                score: 0.0,
                probability: 1.0,
                evidence: ev,
            };
        }
        let learning = user.is_none() || history_days < limits.learning_days || active_days < limits.min_active_days;
        if learning {
            ev.state = AssessmentState::Learning;
            ev.novelty = novelty_of(user, ip);
            ev.reason = text(&|| {
                format!(
                    "{user_name} is still in the learning period ({:.1} of {} days, {} of {} active days); {ip} is not scored yet.",
                    history_days, limits.learning_days, active_days, limits.min_active_days
                )
            });
            return Assessment {
                score: 0.0,
                probability: 1.0,
                evidence: ev,
            };
        }
        let Some(user) = user else {
            // Unreachable: `learning` covers a missing user. Kept total for safety.
            return Assessment {
                score: 0.0,
                probability: 1.0,
                evidence: ev,
            };
        };

        if let Some(a) = addr {
            // Known address: how large a share of the user's active days it covers, decayed by
            // idleness, so rarer and older sightings never score lower.
            ev.state = AssessmentState::KnownAddress;
            let idle_days = (i64::from(bucket) - i64::from(a.last_bucket)) as f64 / BUCKETS_PER_DAY as f64;
            let effective = a.days_seen as f64 * 0.5f64.powf(idle_days / 30.0);
            let p = ((effective + 0.5) / (active_days as f64 + 1.0)).min(1.0);
            let score = (0.5 * probability_to_score(p)).min(FAMILIAR_CEILING);
            ev.novelty_probability = round_sig(p);
            ev.reason = text(&|| {
                format!(
                    "{user_name} logged on from {ip}, an address they used on {} of {} active days (last {}); known addresses do not alert.",
                    a.days_seen,
                    active_days,
                    ev.last_seen.as_deref().unwrap_or("-")
                )
            });
            return Assessment {
                score,
                probability: p,
                evidence: ev,
            };
        }

        let novelty = novelty_of(Some(user), ip);
        ev.novelty = novelty;
        let v4 = ip.is_v4();
        let subnet_cidr = text(&|| format_network(ip.network(NetLevel::Subnet), NetLevel::Subnet));
        let site = ip.network(NetLevel::Site);
        let site_cidr = text(&|| format_network(site, NetLevel::Site));
        let (mut p, what) = match novelty {
            Novelty::Site if !self.site_users.contains_key(&site) => {
                // A network nobody in the organisation uses: the user's past novelty at networks
                // their colleagues share (a home ISP, a partner site) does not predict it; only
                // their one-off visits to networks nobody else uses (trips) do.
                let own_singletons = user
                    .sites()
                    .filter(|n| n.days_seen <= 1 && self.site_users.get(&n.net).copied().unwrap_or(0) <= 1)
                    .count();
                (
                    user.good_turing_with(NetLevel::Site, own_singletons)
                        .max(user.site_novelty.recent_rate()),
                    text(&|| format!("a network ({site_cidr}) they have never used, nor has anyone else here")),
                )
            }
            Novelty::Site => (
                user.novelty_probability(NetLevel::Site),
                text(&|| format!("a network ({site_cidr}) they have never used")),
            ),
            Novelty::Subnet => (
                (user.novelty_probability(NetLevel::Subnet) * SUBNET_IN_KNOWN_SITE_FACTOR).min(1.0),
                text(&|| format!("a new subnet ({subnet_cidr}) inside {site_cidr}, a network they use")),
            ),
            // `None` cannot happen without a known address; treat it as the mildest novelty.
            Novelty::Address | Novelty::None => (
                (user.novelty_probability(NetLevel::Subnet) * SUBNET_IN_KNOWN_SITE_FACTOR * 4.0).min(1.0),
                text(&|| format!("a new address inside {subnet_cidr}, a subnet they use")),
            ),
        };
        let mut ceiling = 100.0;
        // A named known network (a VPN range, the offices) is one place: a new address inside it is
        // not new for a user who uses that network.
        if let Some((name, used)) = &context.known_network {
            if *used {
                ceiling = FAMILIAR_CEILING;
                ev.factors.extend(texts.then(|| {
                    format!("inside known network `{name}`, which the user uses: at most {FAMILIAR_CEILING}")
                }));
            } else {
                p = (p * ORG_SITE_FACTOR).min(1.0);
                ev.factors
                    .extend(texts.then(|| format!("inside known network `{name}`: probability ×{ORG_SITE_FACTOR}")));
            }
        }
        if matches!(novelty, Novelty::Address | Novelty::None) {
            ceiling = FAMILIAR_CEILING;
            ev.factors.extend(texts.then(|| format!(
                "new address inside a /{} the user already uses (DHCP renumbering or a pool): at most {FAMILIAR_CEILING}",
                NetLevel::Subnet.cidr_suffix(v4)
            )));
        }
        let owner = self.owner_of(ip, user_name, bucket);
        if ev.shared_with_users >= SHARED_ADDRESS_USERS && owner.is_none() {
            p = (p * SHARED_ADDRESS_FACTOR).min(1.0);
            ev.factors.extend(texts.then(|| format!(
                "address shared by {} other users (NAT, VPN concentrator or jump host): probability ×{SHARED_ADDRESS_FACTOR}",
                ev.shared_with_users
            )));
        }
        // Other users of the site: for a new subnet the user is one of the site's users already.
        let site_users = self.site_users.get(&site).copied().unwrap_or(0);
        let other_site_users = site_users.saturating_sub(u16::from(novelty == Novelty::Subnet));
        if matches!(novelty, Novelty::Site | Novelty::Subnet) && other_site_users >= ORG_SITE_USERS && owner.is_none() {
            // An organisation network (offices, a VPN pool spread over several /24s): a subnet
            // of it new to this user is less surprising than the same novelty elsewhere.
            p = (p * ORG_SITE_FACTOR).min(1.0);
            ev.factors.extend(texts.then(|| format!("{site_cidr} is used by {other_site_users} other users (an organisation network): probability ×{ORG_SITE_FACTOR}")));
        }
        let mut score = probability_to_score(p).min(ceiling);
        if let Some(o) = &owner {
            score = score.max(OWNED_BY_OTHER_FLOOR);
            ev.factors.extend(texts.then(|| format!(
                "address is the habitual address of {} ({} days, last {}): logon from a colleague's machine, at least {OWNED_BY_OTHER_FLOOR}",
                o.user, o.days_seen, o.last_seen
            )));
        }
        ev.owner = owner;
        ev.novelty_probability = round_sig(p);
        ev.reason = match &ev.owner {
            _ if !texts => String::new(),
            Some(o) => format!(
                "{user_name} logged on from {ip}, the usual address of {} ({} days, last seen {}), never used by {user_name}; {typical}.",
                o.user, o.days_seen, o.last_seen
            ),
            None => format!(
                "{user_name} logged on from {ip}, {what}; {typical}; such novelty has probability {:.3} for this user over {:.0} days of history.",
                p, history_days
            ),
        };
        Assessment {
            score,
            probability: p,
            evidence: ev,
        }
    }

    /// What the model knows about a user, as JSON: learning state, addresses and networks with
    /// counts and first/last seen, novelty rates.
    pub fn explain_user(&self, name: &str, limits: &ModelLimits) -> serde_json::Value {
        let Some(u) = self.user_id(name).and_then(|id| self.user(id)) else {
            return serde_json::json!({"user.name": name, "known": false});
        };
        let bucket_time = |b: i32| format_rfc3339_ms(b as i64 * BUCKET_MS);
        let mut addresses: Vec<AddressHistory> = u.addresses().collect();
        crate::sort::sort_by(&mut addresses, |a, b| {
            b.days_seen.cmp(&a.days_seen).then(a.ip.cmp(&b.ip))
        });
        let history_days = u.history_days(u.last_bucket);
        let learning = history_days < limits.learning_days || u.active_days < limits.min_active_days;
        let nets = |mut v: Vec<NetworkHistory>, level: NetLevel| -> Vec<serde_json::Value> {
            crate::sort::sort_by(&mut v, |a, b| b.days_seen.cmp(&a.days_seen).then(a.net.cmp(&b.net)));
            v.iter()
                .map(|n| serde_json::json!({"network": format_network(n.net, level), "days_seen": n.days_seen, "last_seen": bucket_time(n.last_bucket)}))
                .collect()
        };
        serde_json::json!({
            "user.name": u.name(),
            "known": true,
            "state": if learning { "learning" } else { "established" },
            "first_seen": bucket_time(u.first_bucket),
            "last_seen": bucket_time(u.last_bucket),
            "history_days": (history_days * 100.0).round() / 100.0,
            "active_days": u.active_days,
            "active_buckets": u.active_buckets,
            "addresses": addresses.iter().map(|a| serde_json::json!({
                "ip": a.ip.to_string(),
                "days_seen": a.days_seen,
                "buckets_seen": a.buckets_seen,
                "first_seen": bucket_time(a.first_bucket),
                "last_seen": bucket_time(a.last_bucket),
                "other_users": self.address_users.get(&a.ip).map_or(0, |o| o.count.saturating_sub(1)),
            })).collect::<Vec<_>>(),
            "subnets": nets(u.subnets().collect(), NetLevel::Subnet),
            "sites": nets(u.sites().collect(), NetLevel::Site),
            "novelty": {
                "site_probability": round_sig(u.novelty_probability(NetLevel::Site)),
                "subnet_probability": round_sig(u.novelty_probability(NetLevel::Subnet)),
            },
        })
    }

    /// The colleague for whom `ip` is a habitual address, if any.
    fn owner_of(&self, ip: IpKey, user_name: &str, bucket: i32) -> Option<AddressOwner> {
        let entry = self.address_users.get(&ip)?;
        if entry.count > OWNER_MAX_USERS {
            return None;
        }
        let day = bucket.div_euclid(BUCKETS_PER_DAY);
        entry
            .users
            .iter()
            .filter(|&&id| id != u32::MAX)
            .filter_map(|&id| self.user(id))
            .filter(|u| u.name() != user_name && !same_person(u.name(), user_name))
            .filter_map(|u| {
                let a = u.address(ip)?;
                let idle = day.saturating_sub(a.last_bucket.div_euclid(BUCKETS_PER_DAY));
                // Habitual: a desk is where its owner is on most days. A VPN-pool address that one
                // user happened to get a few times is a small share of their days.
                let habitual = a.days_seen as f64 >= OWNER_MIN_SHARE * u.active_days as f64;
                // A desk is the owner's one address in its subnet and one of few in its site (a
                // VPN user holds many there), and a habit needs history: in their first days a VPN
                // user who got the same pool address three times looks like a desk's owner.
                let habitual = habitual
                    && u.addresses_in(ip, NetLevel::Subnet) <= OWNER_MAX_ADDRESSES_IN_SUBNET
                    && u.addresses_in(ip, NetLevel::Site) <= OWNER_MAX_ADDRESSES_IN_SITE
                    && u.active_days >= OWNER_MIN_ACTIVE_DAYS;
                (a.days_seen >= OWNER_MIN_DAYS && habitual && idle <= OWNER_MAX_IDLE_DAYS).then(|| AddressOwner {
                    user: u.name().to_string(),
                    days_seen: a.days_seen,
                    last_seen: format_rfc3339_ms(a.last_bucket as i64 * BUCKET_MS),
                })
            })
            .max_by_key(|o| o.days_seen)
    }
}

/// Whether two account names look like one person's accounts (`alice` / `alice.admin`,
/// `adm-alice`, `alice_a`): an admin account used from its owner's desk is not lateral movement.
pub fn same_person(a: &str, b: &str) -> bool {
    fn stem(s: &str) -> String {
        let s = s.to_ascii_lowercase();
        let s = s
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&s)
            .split('@')
            .next()
            .unwrap_or("")
            .to_string();
        let mut t = s.as_str();
        for p in [
            "adm-", "adm_", "adm.", "admin-", "admin_", "admin.", "a-", "a_", "sa-", "sa_",
        ] {
            if let Some(r) = t.strip_prefix(p) {
                t = r;
                break;
            }
        }
        for sfx in [
            "-adm", "_adm", ".adm", "-admin", "_admin", ".admin", "-a", "_a", ".a", "$",
        ] {
            if let Some(r) = t.strip_suffix(sfx) {
                t = r;
                break;
            }
        }
        t.to_string()
    }
    let (x, y) = (stem(a), stem(b));
    !x.is_empty() && x.len() >= 3 && x == y
}

fn novelty_of(user: Option<&UserHistory>, ip: IpKey) -> Novelty {
    let Some(u) = user else { return Novelty::Site };
    if u.address(ip).is_some() {
        Novelty::None
    } else if u.network(ip.network(NetLevel::Subnet), NetLevel::Subnet).is_some() {
        Novelty::Address
    } else if u.network(ip.network(NetLevel::Site), NetLevel::Site).is_some() {
        Novelty::Subnet
    } else {
        Novelty::Site
    }
}

/// The first three of `items` in the order `cmp` (a total order: its ties are broken by a unique
/// key), as a full sort would give them, without sorting (or collecting) the rest: a VPN user
/// holds hundreds of addresses.
fn first_three<T: Copy>(items: impl Iterator<Item = T>, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    let mut top: [Option<T>; 3] = [None; 3];
    for item in items {
        let mut carry = Some(item);
        for slot in top.iter_mut() {
            match (slot.as_ref(), carry.as_ref()) {
                (_, None) => break,
                (None, Some(_)) => {
                    *slot = carry.take();
                }
                (Some(held), Some(c)) => {
                    if cmp(c, held) == std::cmp::Ordering::Less {
                        carry = slot.replace(*c);
                    }
                }
            }
        }
    }
    top.into_iter().flatten().collect()
}

fn typical_addresses(u: &UserHistory) -> Vec<TypicalAddress> {
    first_three(u.addresses(), |a, b| {
        b.days_seen
            .cmp(&a.days_seen)
            .then(b.last_bucket.cmp(&a.last_bucket))
            .then(a.ip.cmp(&b.ip))
    })
    .into_iter()
    .map(|a| TypicalAddress {
        ip: String::from(a.ip.text().as_str()),
        days_seen: a.days_seen,
        first_seen: format_rfc3339_ms(a.first_bucket as i64 * BUCKET_MS),
        last_seen: format_rfc3339_ms(a.last_bucket as i64 * BUCKET_MS),
    })
    .collect()
}

fn typical_networks(u: &UserHistory) -> Vec<TypicalNetwork> {
    first_three(u.sites(), |a, b| b.days_seen.cmp(&a.days_seen).then(a.net.cmp(&b.net)))
        .into_iter()
        .map(|n| TypicalNetwork {
            network: format_network(n.net, NetLevel::Site),
            days_seen: n.days_seen,
        })
        .collect()
}

fn describe_typical(ev: &Evidence) -> String {
    if ev.typical_addresses.is_empty() {
        return "no typical addresses yet".to_string();
    }
    // "typical: 10.0.0.1 (12 days), 10.0.0.2 (3 days)", written without `format!` (see `text`).
    let mut out = String::with_capacity(16 + 28 * ev.typical_addresses.len());
    out.push_str("typical: ");
    for (i, a) in ev.typical_addresses.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&a.ip);
        out.push_str(" (");
        crate::text::push_decimal(&mut out, u64::from(a.days_seen));
        out.push_str(" days)");
    }
    out
}

fn round_sig(p: f64) -> f64 {
    if p == 0.0 || !p.is_finite() {
        return p;
    }
    let mag = 10f64.powi(4 - p.abs().log10().ceil() as i32);
    (p * mag).round() / mag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_above_the_bound_score_below() {
        for score in [0.0, 10.0, 12.5, 25.0, 50.0, 75.0, 99.0] {
            let bound = probability_surely_scoring_below(score);
            for k in 1..2000 {
                let p = bound * (1.0 + f64::from(k) * 1e-6);
                if p <= 1.0 {
                    assert!(probability_to_score(p) < score || score == 0.0, "{score} {p}");
                }
            }
            // And the bound is tight: a little below it scores at or above `score`.
            if score > 0.0 {
                assert!(probability_to_score(bound * (1.0 - 1e-6)) >= score, "{score}");
            }
        }
    }

    /// The per-user layout BENCHMARKS.md's byte budget is written against: a change here changes
    /// bytes per (user, address) pair for every deployment (64-bit: boxes are 16 bytes there).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn per_user_layout_stays_compact() {
        // A 16-byte box (name and lists, see `packed`), nine 4-byte counters.
        assert_eq!(std::mem::size_of::<UserHistory>(), 64);
        // An IPv4 address's organisation entry: key and first user slot (the second and the
        // count apart).
        assert_eq!(std::mem::size_of::<(u32, u32)>(), 8);
        // Decoded (transient) forms; stored in 22 / 9 / 8 bytes for IPv4 (see `packed`).
        assert_eq!(std::mem::size_of::<AddressHistory>(), 36);
        assert_eq!(std::mem::size_of::<NetworkHistory>(), 24);
    }

    /// `UserHistory` as it was declared before its lists moved into one allocation: snapshots
    /// written by either must be the same bytes.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct OldUserHistory {
        name: Box<str>,
        first_bucket: i32,
        last_bucket: i32,
        active_days: u32,
        active_buckets: u32,
        last_active_day: i32,
        addresses: Vec<AddressHistory>,
        subnets: Vec<NetworkHistory>,
        sites: Vec<NetworkHistory>,
        subnet_novelty: NoveltyRate,
        site_novelty: NoveltyRate,
        total_concentration: f32,
    }

    fn old_user(name: &str, ips: &[&str]) -> OldUserHistory {
        let mut u = OldUserHistory {
            name: name.into(),
            first_bucket: -7,
            last_bucket: 1_000_000,
            active_days: 12,
            active_buckets: 345,
            last_active_day: 10_416,
            addresses: Vec::new(),
            subnets: Vec::new(),
            sites: Vec::new(),
            subnet_novelty: NoveltyRate {
                discoveries: 0.5,
                days: 3.25,
                last_discovery_day: 10_400,
            },
            site_novelty: NoveltyRate {
                discoveries: 1.5,
                days: 0.125,
                last_discovery_day: i32::MIN,
            },
            total_concentration: 2.75,
        };
        for (i, text) in ips.iter().enumerate() {
            let ip = IpKey::from_ip(text.parse().expect("address"));
            let i = i as i32;
            u.addresses.push(AddressHistory {
                ip,
                first_bucket: i - 3,
                last_bucket: i32::MAX - i,
                days_seen: u16::MAX - i as u16,
                buckets_seen: u32::MAX - i as u32,
                concentration: 0.1 + i as f32,
            });
            for (level, list) in [(NetLevel::Subnet, &mut u.subnets), (NetLevel::Site, &mut u.sites)] {
                let net = ip.network(level);
                if !list.iter().any(|n| n.net == net) {
                    list.push(NetworkHistory {
                        net,
                        last_bucket: i32::MIN + i,
                        days_seen: 7 + i as u16,
                    });
                }
            }
        }
        u
    }

    #[test]
    fn user_history_encodes_as_before_and_reads_old_snapshots() {
        let cases: [&[&str]; 5] = [
            &[],
            &["10.1.2.3", "10.1.2.4", "10.1.9.9", "192.0.2.1"],
            // Mixed families: the lists keep their interleaved order.
            &["2001:db8::1", "10.0.0.1", "2001:db8:1::5", "10.0.0.2"],
            &["2001:db8::1", "2001:db8:0:1::1"],
            &["0.0.0.0", "255.255.255.255", "::ffff:1.2.3.4"],
        ];
        for (i, ips) in cases.iter().enumerate() {
            let old = old_user(&format!("user{i}ü"), ips);
            let bytes = postcard::to_allocvec(&old).expect("encode old");
            let new: UserHistory = postcard::from_bytes(&bytes).expect("decode as new");
            assert_eq!(postcard::to_allocvec(&new).expect("encode new"), bytes, "{ips:?}");
            assert_eq!(
                serde_json::to_string(&new).expect("json new"),
                serde_json::to_string(&old).expect("json old")
            );
            assert_eq!(new.name(), old.name.as_ref());
            assert_eq!(new.addresses().collect::<Vec<_>>(), old.addresses);
            assert_eq!(new.subnets().collect::<Vec<_>>(), old.subnets);
            assert_eq!(new.sites().collect::<Vec<_>>(), old.sites);
            let back: OldUserHistory = postcard::from_bytes(&bytes).expect("decode as old");
            assert_eq!(back, old);
        }
    }

    #[test]
    fn network_keys_with_host_bits_survive_a_snapshot() {
        // Learning never stores such a key, but a snapshot could hold one: kept exactly (wide).
        let mut old = old_user("u", &["10.1.2.3"]);
        old.subnets[0].net = IpKey::from_ip("10.1.2.3".parse().expect("v4"));
        old.sites[0].net = IpKey::from_ip("10.1.2.0".parse().expect("v4"));
        let bytes = postcard::to_allocvec(&old).expect("encode old");
        let new: UserHistory = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(postcard::to_allocvec(&new).expect("encode new"), bytes);
        assert_eq!(new.network(old.subnets[0].net, NetLevel::Subnet), Some(old.subnets[0]));
    }

    #[test]
    fn learning_with_mixed_families_round_trips_through_snapshots() {
        // Mixed families, a cap that forces evictions, and a prune: after every step the packed
        // lists read back as the old struct and decode to the same history.
        let limits = ModelLimits {
            learning_days: 7.0,
            min_active_days: 3,
            max_addresses_per_user: 4,
            prune_buckets: 96 * 5,
        };
        let mut m = RareIpModel::default();
        let uid = m.intern("alice", 0);
        let pool: Vec<IpKey> = [
            "10.0.0.1",
            "2001:db8::1",
            "10.0.1.1",
            "10.9.0.1",
            "2001:db8:5::1",
            "10.0.0.2",
        ]
        .iter()
        .map(|t| IpKey::from_ip(t.parse().expect("ip")))
        .collect();
        for day in 0..12i32 {
            let ips: Vec<IpKey> = (0..2).map(|k| pool[(day as usize * 2 + k) % pool.len()]).collect();
            m.learn_bucket(uid, day * 96 + 30, &ips, &limits, 0.9);
            if day == 8 {
                m.prune(day * 96 + 31, limits.prune_buckets);
            }
            let u = m.user(uid).expect("user");
            let bytes = postcard::to_allocvec(u).expect("encode");
            let old: OldUserHistory = postcard::from_bytes(&bytes).expect("decode old");
            assert!(old.addresses.len() <= 4 && old.subnets.len() <= 4 && old.sites.len() <= 4);
            let back: UserHistory = postcard::from_bytes(&bytes).expect("decode");
            assert_eq!(&back, u);
        }
        assert_eq!(m.pairs, m.user(uid).expect("user").address_count());
    }

    /// Which users the eviction order before precomputed keys and partial selection chose: a full
    /// stable sort of the ids, walked until the bytes fit.
    fn evicted_by_full_sort(m: &RareIpModel, target_bytes: usize) -> Vec<String> {
        let rank = |u: &UserHistory| (u.address_count() > 0, u.active_days.min(7), u.last_bucket);
        let mut order: Vec<u32> = (0..m.users.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (ua, ub) = (&m.users[a as usize], &m.users[b as usize]);
            (rank(ua), ua.name_bytes()).cmp(&(rank(ub), ub.name_bytes()))
        });
        let mut bytes = m.users.iter().map(UserHistory::memory_bytes).sum::<usize>()
            + m.index.heap_bytes()
            + m.address_users.heap_bytes()
            + m.site_users.heap_bytes();
        let mut names = Vec::new();
        for uid in order {
            let u = &m.users[uid as usize];
            if u.address_count() > 0 && bytes <= target_bytes {
                break;
            }
            bytes = bytes.saturating_sub(u.memory_bytes() + u.address_count() * 13);
            names.push(u.name().to_string());
        }
        names.sort();
        names
    }

    #[test]
    fn eviction_forgets_the_users_a_full_sort_would() {
        let limits = ModelLimits {
            learning_days: 7.0,
            min_active_days: 3,
            max_addresses_per_user: 8,
            prune_buckets: 96 * 4,
        };
        let mut seed = 11u64;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for shuffled in [false, true] {
            let mut m = RareIpModel::default();
            for i in 0..3000u64 {
                // Names that tie on their first 16 bytes and more, short ones, and non-ASCII ones.
                let k = if shuffled { next(100_000) } else { i };
                let name = match k % 4 {
                    0 => format!("CORP\\long.department.name.{k:06}"),
                    1 => format!("u{}", k % 50_000),
                    2 => format!("ü{k}"),
                    _ => format!("user{k:08}"),
                };
                // Few ranks, so that the cut runs through users of one rank, ordered by name.
                let days = if shuffled { next(5) } else { i % 5 };
                let uid = m.intern(&name, 0);
                for d in 0..days {
                    let bucket = (d * 96 + if shuffled { next(2) } else { i % 2 }) as i32;
                    let ip = IpKey::from_ip(std::net::IpAddr::from([10, (i >> 8) as u8, i as u8, d as u8]));
                    m.learn_bucket(uid, bucket, &[ip], &limits, 1.0);
                }
            }
            // Users whose addresses are all idle are left empty.
            m.prune(96 * 5, limits.prune_buckets);
            m.rebuild_index();
            assert!(m.users.iter().any(|u| u.address_count() == 0));
            let total = m.memory_bytes();
            for share in [100, 95, 80, 50, 20, 1, 0] {
                let mut evicted = m.clone();
                let target = total * share / 100;
                let expected = evicted_by_full_sort(&m, target);
                let before: Vec<String> = m.users.iter().map(|u| u.name().to_string()).collect();
                assert_eq!(evicted.evict(target), expected.len(), "{shuffled} {share}");
                let kept: std::collections::HashSet<&str> = evicted.users.iter().map(UserHistory::name).collect();
                let mut gone: Vec<String> = before.into_iter().filter(|n| !kept.contains(n.as_str())).collect();
                gone.sort();
                assert_eq!(gone, expected, "{shuffled} {share}");
                for (id, u) in evicted.users.iter().enumerate() {
                    assert_eq!(evicted.user_id(u.name()), Some(id as u32));
                }
                assert_eq!(
                    evicted.memory_bytes(),
                    evicted.users.iter().map(UserHistory::memory_bytes).sum::<usize>()
                        + evicted.index.heap_bytes()
                        + evicted.address_users.heap_bytes()
                        + evicted.site_users.heap_bytes()
                );
            }
        }
    }

    #[test]
    fn memory_per_pair_of_a_three_address_user() {
        let mut m = RareIpModel::default();
        let limits = ModelLimits {
            learning_days: 7.0,
            min_active_days: 3,
            max_addresses_per_user: 64,
            prune_buckets: i32::MAX,
        };
        for u in 0..1000u32 {
            let uid = m.intern(&format!("user{u:05}"), 0);
            let ips: Vec<IpKey> = (0..3u8)
                .map(|i| IpKey::from_ip(std::net::IpAddr::from([10, (u >> 8) as u8, u as u8, 10 + i])))
                .collect();
            m.learn_bucket(uid, 0, &ips, &limits, 1.0);
        }
        assert_eq!(m.pairs, 3000);
        // 64 inline + one allocation of 7 (header) + 1 + 9 (name) + 3 × 22 (addresses) + 9 (/24)
        // + 8 (/16) = 164 per user, plus the name index and the organisation's address map (hash
        // tables: capacity depends on the table's growth steps).
        assert_eq!(m.users.iter().map(UserHistory::memory_bytes).sum::<usize>(), 164 * 1000);
        // One address, one user: 8 bytes and a control byte per slot, nothing stored apart.
        assert_eq!(
            m.address_users.heap_bytes(),
            crate::model::compact::table_capacity(3000) * 9
        );
        let per_pair = m.memory_bytes() as f64 / m.pairs as f64;
        assert!((65.0..72.0).contains(&per_pair), "{per_pair}");
    }

    /// Random puts, removals and remaps give the same users and counts, and the same snapshot
    /// bytes, as one map of whole entries.
    #[test]
    fn address_users_map_answers_as_a_map_of_whole_entries() {
        let mut random = crate::xorshift(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: u64| random() % n;
        let key = |i: u64| {
            if i % 5 == 0 {
                IpKey::from_ip(std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16]))
            } else {
                IpKey::from_ip(std::net::IpAddr::from([10, 0, 0, i as u8]))
            }
        };
        let slot = |v: u64| if v < 3 { u32::MAX } else { v as u32 };
        let mut map = AddressUsersMap::default();
        let mut plain: crate::FastMap<IpKey, AddressUsers> = crate::FastMap::default();
        for step in 0..4000 {
            let ip = key(next(40));
            match next(10) {
                0 => {
                    map.remove(&ip);
                    plain.remove(&ip);
                }
                1 => {
                    let moved = next(6) as u32;
                    let new_id = |id: u32| if id == moved { u32::MAX } else { id ^ 1 };
                    map.remap_users(new_id);
                    for e in plain.values_mut() {
                        e.users = e.users.map(|id| if id == u32::MAX { id } else { new_id(id) });
                    }
                }
                _ => {
                    let e = AddressUsers {
                        users: [slot(next(8)), slot(next(8))],
                        count: next(4) as u16,
                    };
                    map.put(ip, e.clone());
                    plain.insert(ip, e);
                }
            }
            assert_eq!(map.len(), plain.len(), "step {step}");
            for (ip, e) in &plain {
                assert_eq!(map.get(ip).as_ref(), Some(e), "step {step}");
            }
        }
        let entries = |m: &AddressUsersMap| {
            let bytes = postcard::to_allocvec(m).expect("encode");
            let back: crate::FastMap<IpKey, AddressUsers> = postcard::from_bytes(&bytes).expect("decode");
            back
        };
        assert_eq!(entries(&map), plain);
    }

    #[test]
    fn address_users_keep_counts_apart_and_encode_like_an_ip_map() {
        let key = |t: &str| IpKey::from_ip(t.parse().expect("address"));
        let cases = [
            ("10.0.0.1", [7, u32::MAX], 1),
            ("10.0.0.2", [7, 9], 2),
            ("10.0.0.3", [7, 9], 40),
            ("10.0.0.4", [u32::MAX, 9], 2),
            ("10.0.0.5", [u32::MAX, u32::MAX], 3),
            ("10.0.0.6", [u32::MAX, u32::MAX], 0),
            ("2001:db8::1", [3, u32::MAX], 1),
            ("2001:db8::2", [3, 4], u16::MAX),
        ];
        let mut map = AddressUsersMap::default();
        let mut plain: IpMap<AddressUsers> = IpMap::default();
        for (ip, users, count) in cases {
            let e = AddressUsers { users, count };
            map.put(key(ip), e.clone());
            plain.get_or_insert_with(key(ip), || e);
        }
        for (ip, users, count) in cases {
            assert_eq!(map.get(&key(ip)), Some(AddressUsers { users, count }), "{ip}");
        }
        // Only the counts that are not the filled slots are stored apart.
        assert_eq!(map.counts.len(), 4);
        for (ip, _, _) in cases {
            let one = |m: &AddressUsersMap| {
                let mut single = AddressUsersMap::default();
                single.put(key(ip), m.get(&key(ip)).expect("present"));
                postcard::to_allocvec(&single).expect("encode")
            };
            let mut single_plain: IpMap<AddressUsers> = IpMap::default();
            single_plain.get_or_insert_with(key(ip), || plain.get(&key(ip)).cloned().expect("present"));
            assert_eq!(
                one(&map),
                postcard::to_allocvec(&single_plain).expect("encode plain"),
                "{ip}"
            );
        }
        let bytes = postcard::to_allocvec(&plain).expect("encode plain");
        let back: AddressUsersMap = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, map);
        assert_eq!(postcard::to_allocvec(&back).expect("encode").len(), bytes.len());
        // A count falls back to the filled slots: stored apart no more.
        map.put(
            key("10.0.0.3"),
            AddressUsers {
                users: [7, 9],
                count: 2,
            },
        );
        assert_eq!(map.counts.len(), 3);
        map.remap_users(|id| if id == 9 { u32::MAX } else { id + 100 });
        assert_eq!(
            map.get(&key("10.0.0.2")),
            Some(AddressUsers {
                users: [107, u32::MAX],
                count: 2
            })
        );
        assert_eq!(
            map.get(&key("10.0.0.1")),
            Some(AddressUsers {
                users: [107, u32::MAX],
                count: 1
            })
        );
        map.remove(&key("10.0.0.5"));
        assert_eq!((map.get(&key("10.0.0.5")), map.len()), (None, 7));
    }

    #[test]
    fn first_three_is_a_sorts_first_three() {
        let mut seed = 7u32;
        for len in 0..40usize {
            let v: Vec<(u8, u32)> = (0..len as u32)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((seed >> 16) as u8 % 4, i)
                })
                .collect();
            let cmp = |a: &(u8, u32), b: &(u8, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
            let mut sorted = v.clone();
            sorted.sort_by(cmp);
            sorted.truncate(3);
            assert_eq!(first_three(v.into_iter(), cmp), sorted, "{len}");
        }
    }

    #[test]
    fn on_day_is_the_day_of_the_bucket() {
        let mut next = crate::xorshift(0x5851_f42d_4c95_7f2d);
        let edges = [
            i32::MIN,
            i32::MIN + 95,
            i32::MIN + 96,
            -97,
            -96,
            -95,
            -1,
            0,
            1,
            95,
            96,
            97,
            i32::MAX - 96,
            i32::MAX,
        ];
        let random = (0..2_000).map(|_| next() as i32);
        let buckets: Vec<i32> = edges.into_iter().chain(random).collect();
        for &bucket in &buckets {
            let day = bucket.div_euclid(BUCKETS_PER_DAY);
            for other in [
                day,
                day.saturating_sub(1),
                day.saturating_add(1),
                i32::MIN,
                i32::MAX,
                0,
                next() as i32,
            ] {
                assert_eq!(
                    on_day(bucket, other),
                    bucket.div_euclid(BUCKETS_PER_DAY) == other,
                    "{bucket} {other}"
                );
            }
        }
    }

    #[test]
    fn score_scale_endpoints() {
        assert_eq!(probability_to_score(0.5), 0.0);
        assert!((probability_to_score(0.011) - 100.0).abs() < 1e-9);
        assert!(probability_to_score(0.03) > probability_to_score(0.05));
        assert_eq!(probability_to_score(0.0), 100.0);
        assert_eq!(probability_to_score(f64::NAN), 100.0);
    }

    #[test]
    fn same_person_heuristic() {
        assert!(same_person("alice", "alice.admin"));
        assert!(same_person("adm-alice", "alice"));
        assert!(same_person("CORP\\alice", "alice_adm"));
        assert!(!same_person("alice", "bob"));
        assert!(!same_person("al", "al.admin"));
    }
}
