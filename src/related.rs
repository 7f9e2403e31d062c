//! The five related detections of Elastic's `security_auth` module, next to the rare-address job:
//! rare user, unusual hour, spikes in failed logons, in successful logons, and in successful logons
//! from one source address. Each keeps its own per-bucket aggregation and model; the engine
//! ([`crate::Detector`]) owns the clock, the rules and suppression.

use std::borrow::Cow;

use crate::FastMap as HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::compact::{clear_for_reuse, IndexKey, KeyIndex};
use crate::model::counts::{spike_score, upper_tail_probability, Expectation, Moments, SeasonalCounts};
use crate::model::rare_hour::{RareHourEvidence, RareHourModel};
use crate::model::rare_user::{RareUserEvidence, RareUserModel};
use crate::net::IpKey;
use crate::output::{severity_label, AnomalyRecord, Influencer, JobEvidence, JobVerdict, ScoreExplanation};

/// `auth_rare_user`.
pub const RARE_USER_JOB: &str = "auth_rare_user";
/// `auth_rare_hour_for_a_user`.
pub const RARE_HOUR_JOB: &str = "auth_rare_hour_for_a_user";
/// `auth_high_count_logon_fails`.
pub const FAILS_JOB: &str = "auth_high_count_logon_fails";
/// `auth_high_count_logon_events`.
pub const SUCCESSES_JOB: &str = "auth_high_count_logon_events";
/// `auth_high_count_logon_events_for_a_source_ip`.
pub const SOURCE_IP_SPIKE_JOB: &str = "auth_high_count_logon_events_for_a_source_ip";

/// Records are written below this probability, as Elastic does.
const RECORD_PROBABILITY: f64 = 0.035;
/// Top influencer values kept per field and bucket.
const TOP_INFLUENCERS: usize = 3;
/// Distinct values counted per bucket aggregation before counting stops (memory bound).
const MAX_DISTINCT_PER_BUCKET: usize = 10_000;
/// Addresses tracked by the per-source-address spike job before the least recently active go.
const MAX_TRACKED_SOURCES: usize = 200_000;

/// Lists shorter than this are searched linearly (cheaper than hashing the key);
/// longer ones through a [`PositionIndex`].
const INDEX_FROM: usize = 64;

/// Key → position in one of the open bucket's lists, so that a bucket with thousands of users or
/// addresses is not searched linearly per event. Holds positions only (the list owns the keys), so
/// indexing a value allocates nothing once the table has grown. Not state: not in snapshots, equal
/// to any other, and rebuilt whenever its length disagrees with its list's (after a restore);
/// cleared with its list at bucket close. Transient (one bucket), so not counted in `memory_bytes`.
#[derive(Clone, Debug, Default, PartialEq)]
struct PositionIndex(KeyIndex);

impl PositionIndex {
    /// The position of `key` in `list` (whose keys are unique), by `key_of`. Inlined: most lists
    /// are a few entries long, searched in fewer steps than a call takes.
    #[inline]
    fn find<T, Q: IndexKey + Eq + ?Sized>(&mut self, list: &[T], key_of: impl Fn(&T) -> &Q, key: &Q) -> Option<usize> {
        if list.len() < INDEX_FROM {
            return list.iter().position(|x| key_of(x) == key);
        }
        self.find_indexed(list, key_of, key)
    }

    /// [`PositionIndex::find`] in a long list.
    #[inline(never)]
    fn find_indexed<T, Q: IndexKey + Eq + ?Sized>(
        &mut self,
        list: &[T],
        key_of: impl Fn(&T) -> &Q,
        key: &Q,
    ) -> Option<usize> {
        let key_at = |i: u32| key_of(&list[i as usize]);
        if self.0.len() != list.len() {
            self.0.rebuild(list.len(), key_at);
        }
        self.0.get(key, key_at).map(|i| i as usize)
    }

    /// Records that `list`'s last element was pushed (only while the index is in use and in step;
    /// short lists allocate no index).
    #[inline]
    fn pushed<T, Q: IndexKey + Eq + ?Sized>(&mut self, list: &[T], key_of: impl Fn(&T) -> &Q) {
        if list.len() > INDEX_FROM {
            self.pushed_indexed(list, key_of);
        }
    }

    /// [`PositionIndex::pushed`] to a long list.
    #[inline(never)]
    fn pushed_indexed<T, Q: IndexKey + Eq + ?Sized>(&mut self, list: &[T], key_of: impl Fn(&T) -> &Q) {
        let len = list.len();
        if self.0.len() + 1 == len {
            let last = &list[len - 1];
            self.0
                .insert(key_of(last), (len - 1) as u32, &|i| key_of(&list[i as usize]));
        }
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// The open bucket's texts — user and host names — each held once in one buffer and known by a
/// per-bucket id, and its source addresses, known by a per-bucket address id and written out as
/// text only for a record or a snapshot. The bucket's lists then compare and copy 4-byte ids
/// instead of strings, and a closed bucket's names go with one `clear` (the buffers' room stays
/// for the next bucket: no allocation per event once the stream has run a few buckets).
#[derive(Clone, Debug, Default)]
struct BucketNames {
    text: String,
    /// End of each name in `text`, by id.
    ends: Vec<usize>,
    index: KeyIndex,
    addresses: Vec<Address>,
    address_ids: HashMap<IpKey, u32>,
}

/// A source address of the open bucket.
#[derive(Clone, Copy, Debug)]
enum Address {
    Key(IpKey),
    /// A restored text that is not how an address is written (a crafted snapshot's): the name id
    /// of the text, kept as it came.
    Text(u32),
}

#[inline]
fn name_at<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &text[start..ends[id]]
}

impl BucketNames {
    #[inline]
    fn get(&self, id: u32) -> &str {
        name_at(&self.text, &self.ends, id)
    }

    /// The id of `name`, adding it if new.
    fn id(&mut self, name: &str) -> u32 {
        let BucketNames { text, ends, index, .. } = self;
        let new_id = ends.len() as u32;
        match index.get_or_insert(name, new_id, |i| name_at(text, ends, i)) {
            Ok(id) => id,
            Err(id) => {
                text.push_str(name);
                ends.push(text.len());
                id
            }
        }
    }

    /// The address id of `ip`, adding it if new.
    fn address_id(&mut self, ip: IpKey) -> u32 {
        let new_id = self.addresses.len() as u32;
        match self.address_ids.entry(ip) {
            std::collections::hash_map::Entry::Occupied(found) => *found.get(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                self.addresses.push(Address::Key(ip));
                *slot.insert(new_id)
            }
        }
    }

    /// The address id of a restored address text; `texts` gives the ids of those already
    /// restored that are not an address's own text.
    fn restored_address_id(&mut self, text: &str, texts: &mut HashMap<u32, u32>) -> u32 {
        let key = crate::net::parse_ip(text)
            .map(IpKey::from_ip)
            .filter(|k| k.text().as_str() == text);
        if let Some(key) = key {
            return self.address_id(key);
        }
        let name = self.id(text);
        let new_id = self.addresses.len() as u32;
        *texts.entry(name).or_insert_with(|| {
            self.addresses.push(Address::Text(name));
            new_id
        })
    }

    /// An address's text.
    fn address(&self, id: u32) -> Cow<'_, str> {
        match self.addresses[id as usize] {
            Address::Key(ip) => Cow::Owned(ip.text().as_str().to_owned()),
            Address::Text(name) => Cow::Borrowed(self.get(name)),
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.index.clear();
        self.addresses.clear();
        self.address_ids.clear();
    }

    fn memory_bytes(&self) -> usize {
        self.text.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.index.heap_bytes()
            + self.addresses.capacity() * std::mem::size_of::<Address>()
            + crate::model::compact::table_capacity(self.address_ids.len()) * (std::mem::size_of::<(IpKey, u32)>() + 1)
    }
}

/// Position in a list by per-bucket name id (0: absent, else position + 1), for the lists that
/// hold one entry per name of the bucket. Derived: rebuilt on restore, cleared at bucket close.
#[derive(Clone, Debug, Default)]
struct Slots(Vec<u32>);

impl Slots {
    fn get(&self, id: u32) -> Option<usize> {
        match self.0.get(id as usize) {
            Some(&slot) if slot > 0 => Some(slot as usize - 1),
            _ => None,
        }
    }

    fn set(&mut self, id: u32, position: usize) {
        let i = id as usize;
        if i >= self.0.len() {
            // Grown in steps: a bucket's ids arrive one by one.
            self.0.resize((i + 1).max(2 * self.0.len()).max(64), 0);
        }
        self.0[i] = position as u32 + 1;
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    fn memory_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<u32>()
    }
}

/// Per-address count buckets kept past their bucket (emptied), for the next bucket's addresses:
/// they then allocate nothing once the stream has run a few buckets. At most this many are kept,
/// their three lists with room for [`SPARE_LIST_ROOM`]; what is beyond is freed.
const SPARE_BUCKETS: usize = 1_024;
/// Entries a kept bucket's list keeps room for.
const SPARE_LIST_ROOM: usize = 64;

/// Per-bucket counts of one series with its top contributors, by name id (first seen first).
/// `I` finds an id in a list: [`PositionIndex`] for the many per-address buckets (their lists are
/// short), [`DenseIndex`] for the two organisation-wide ones (their lists hold much of the bucket).
#[derive(Clone, Debug, Default)]
struct CountBucket<I = PositionIndex> {
    count: u32,
    users: Vec<(u32, u32)>,
    sources: Vec<(u32, u32)>,
    hosts: Vec<(u32, u32)>,
    index: [I; 3],
}

/// Finds an id's position in one of a count bucket's lists. Derived from the list: rebuilt when
/// out of step with it (after a restore), cleared with it.
trait ListIndex: Default {
    fn find(&mut self, list: &[(u32, u32)], id: u32) -> Option<usize>;
    /// Records that `list`'s last entry was pushed.
    fn pushed(&mut self, list: &[(u32, u32)]);
    fn clear(&mut self);
}

impl ListIndex for PositionIndex {
    #[inline]
    fn find(&mut self, list: &[(u32, u32)], id: u32) -> Option<usize> {
        PositionIndex::find(self, list, |(k, _)| k, &id)
    }

    #[inline]
    fn pushed(&mut self, list: &[(u32, u32)]) {
        PositionIndex::pushed(self, list, |(k, _)| k);
    }

    fn clear(&mut self) {
        PositionIndex::clear(self);
    }
}

/// Positions by id in a table as long as the bucket has ids: for lists that hold a good part of
/// the bucket's names.
#[derive(Clone, Debug, Default)]
struct DenseIndex {
    slots: Slots,
    /// Entries of the list indexed.
    indexed: usize,
}

impl ListIndex for DenseIndex {
    fn find(&mut self, list: &[(u32, u32)], id: u32) -> Option<usize> {
        if self.indexed != list.len() {
            self.slots.clear();
            for (i, &(k, _)) in list.iter().enumerate() {
                // A crafted snapshot may repeat an id: the first is the one found.
                if self.slots.get(k).is_none() {
                    self.slots.set(k, i);
                }
            }
            self.indexed = list.len();
        }
        self.slots.get(id)
    }

    fn pushed(&mut self, list: &[(u32, u32)]) {
        if let Some(&(id, _)) = list.last() {
            if self.indexed + 1 == list.len() {
                self.slots.set(id, list.len() - 1);
                self.indexed += 1;
            }
        }
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.indexed = 0;
    }
}

#[inline]
fn bump(list: &mut Vec<(u32, u32)>, index: &mut impl ListIndex, value: Option<u32>) {
    let Some(id) = value else {
        return;
    };
    if let Some(i) = index.find(list, id) {
        list[i].1 += 1;
    } else if list.len() < MAX_DISTINCT_PER_BUCKET {
        list.push((id, 1));
        index.pushed(list);
    }
}

/// The top values of `list` by count, then by text (`text_of` an id).
fn top<'a>(list: &[(u32, u32)], text_of: impl Fn(u32) -> Cow<'a, str>) -> Vec<String> {
    let mut v: Vec<(Cow<'a, str>, u32)> = list.iter().map(|&(id, n)| (text_of(id), n)).collect();
    // Keys are unique: the unstable sort (`crate::sort`) gives the one order.
    crate::sort::sort_by(&mut v, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter()
        .take(TOP_INFLUENCERS)
        .map(|(k, _)| k.into_owned())
        .collect()
}

impl BucketNames {
    fn top_names(&self, list: &[(u32, u32)]) -> Vec<String> {
        top(list, |id| Cow::Borrowed(self.get(id)))
    }

    fn top_addresses(&self, list: &[(u32, u32)]) -> Vec<String> {
        top(list, |id| self.address(id))
    }
}

/// An event's names as a count bucket counts them (empty texts are not counted).
#[derive(Clone, Copy)]
struct Counted {
    user: Option<u32>,
    source: Option<u32>,
    host: Option<u32>,
}

impl<I: ListIndex> CountBucket<I> {
    fn add(&mut self, names: Counted) {
        self.count = self.count.saturating_add(1);
        let [users, sources, hosts] = &mut self.index;
        bump(&mut self.users, users, names.user);
        bump(&mut self.sources, sources, names.source);
        bump(&mut self.hosts, hosts, names.host);
    }

    /// Heap bytes of its lists (their indexes are transient: one bucket's).
    fn list_bytes(&self) -> usize {
        (self.users.capacity() + self.sources.capacity() + self.hosts.capacity()) * std::mem::size_of::<(u32, u32)>()
    }

    /// Empties the bucket, keeping its lists' capacity.
    fn empty(&mut self) {
        self.count = 0;
        self.users.clear();
        self.sources.clear();
        self.hosts.clear();
        for index in &mut self.index {
            index.clear();
        }
    }

    fn influencers(&self, names: &BucketNames) -> Vec<Influencer> {
        [
            ("source.ip", &self.sources, true),
            ("user.name", &self.users, false),
            ("host.name", &self.hosts, false),
        ]
        .into_iter()
        .filter(|(_, l, _)| !l.is_empty())
        .map(|(name, l, addresses)| Influencer {
            influencer_field_name: name.into(),
            influencer_field_values: if addresses {
                names.top_addresses(l)
            } else {
                names.top_names(l)
            },
        })
        .collect()
    }
}

/// A successful logon of a user in the open bucket (rare user, rare hour), by name id.
#[derive(Clone, Debug, PartialEq)]
struct UserLogon {
    user: u32,
    first_time: i64,
    count: u32,
    source: Option<u32>,
    host: Option<u32>,
}

/// Per-address success counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct SourceCounts {
    moments: Moments,
    last_bucket: i32,
}

/// State of the five jobs. Snapshots hold it in the encoding they always had (the open bucket's
/// names as text).
#[derive(Clone, Debug, Default)]
pub struct RelatedJobs {
    rare_user: RareUserModel,
    rare_hour: RareHourModel,
    fails: SeasonalCounts,
    successes: SeasonalCounts,
    sources: HashMap<IpKey, SourceCounts>,
    /// Every address's non-zero success counts: the prior for addresses with little history.
    sources_overall: Moments,
    /// Day the organisation's first logon was seen (for count-job learning).
    first_day: Option<i32>,
    // Open bucket.
    names: BucketNames,
    logons: Vec<UserLogon>,
    /// `logons` by user id.
    logon_slots: Slots,
    /// Whether `logons` names a user twice (only a crafted snapshot's can): the rare-user job then
    /// assesses them all before learning any, as learning each after assessing it would differ.
    logons_repeat_users: bool,
    fail_bucket: CountBucket<DenseIndex>,
    success_bucket: CountBucket<DenseIndex>,
    /// The open bucket's addresses (the first `open_sources`) and emptied buckets kept for reuse.
    source_buckets: Vec<(IpKey, CountBucket)>,
    open_sources: usize,
    /// `source_buckets` by the id of the address's text.
    source_slots: Slots,
    /// Scratch for closing: the open addresses' positions (low 32 bits) in address order.
    close_order: Vec<u64>,
    /// Scratch for closing a bucket whose addresses differ beyond their last 32 bits: keys and
    /// positions, sorted.
    close_order_wide: Vec<(u128, u32)>,
    /// Per count series (job, or job and address): start of its last anomalous bucket and how
    /// many consecutive buckets have been anomalous, for `multi_bucket_impact`.
    anomaly_runs: HashMap<String, (i64, u32)>,
}

/// A logon as snapshots hold it (`S`: `String` restoring, `&str` writing).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename = "UserLogon")]
struct UserLogonRepr<S> {
    user: S,
    first_time: i64,
    count: u32,
    source: Option<S>,
    host: Option<S>,
}

/// A count bucket as snapshots hold it.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename = "CountBucket")]
struct CountBucketRepr<S> {
    count: u32,
    users: Vec<(S, u32)>,
    sources: Vec<(S, u32)>,
    hosts: Vec<(S, u32)>,
}

/// The open bucket with its names as text.
#[derive(Debug, PartialEq)]
struct OpenBucketRepr<'a> {
    logons: Vec<UserLogonRepr<Cow<'a, str>>>,
    fail_bucket: CountBucketRepr<Cow<'a, str>>,
    success_bucket: CountBucketRepr<Cow<'a, str>>,
    source_buckets: Vec<(IpKey, CountBucketRepr<Cow<'a, str>>)>,
}

/// What a snapshot holds of [`RelatedJobs`] (the encoding it has always had), written from
/// borrowed state.
#[derive(Serialize)]
#[serde(rename = "RelatedJobs")]
struct RelatedJobsView<'a> {
    rare_user: &'a RareUserModel,
    rare_hour: &'a RareHourModel,
    fails: &'a SeasonalCounts,
    successes: &'a SeasonalCounts,
    sources: &'a HashMap<IpKey, SourceCounts>,
    sources_overall: &'a Moments,
    first_day: Option<i32>,
    logons: Vec<UserLogonRepr<Cow<'a, str>>>,
    fail_bucket: CountBucketRepr<Cow<'a, str>>,
    success_bucket: CountBucketRepr<Cow<'a, str>>,
    source_buckets: Vec<(IpKey, CountBucketRepr<Cow<'a, str>>)>,
    anomaly_runs: &'a HashMap<String, (i64, u32)>,
}

/// [`RelatedJobsView`], read back.
#[derive(Deserialize)]
#[serde(rename = "RelatedJobs")]
struct RelatedJobsRepr {
    rare_user: RareUserModel,
    rare_hour: RareHourModel,
    fails: SeasonalCounts,
    successes: SeasonalCounts,
    sources: HashMap<IpKey, SourceCounts>,
    sources_overall: Moments,
    first_day: Option<i32>,
    logons: Vec<UserLogonRepr<String>>,
    fail_bucket: CountBucketRepr<String>,
    success_bucket: CountBucketRepr<String>,
    source_buckets: Vec<(IpKey, CountBucketRepr<String>)>,
    anomaly_runs: HashMap<String, (i64, u32)>,
}

impl<I: ListIndex> CountBucket<I> {
    fn repr<'a>(&self, names: &'a BucketNames) -> CountBucketRepr<Cow<'a, str>> {
        let text = |list: &[(u32, u32)]| list.iter().map(|&(id, n)| (Cow::Borrowed(names.get(id)), n)).collect();
        CountBucketRepr {
            count: self.count,
            users: text(&self.users),
            sources: self.sources.iter().map(|&(id, n)| (names.address(id), n)).collect(),
            hosts: text(&self.hosts),
        }
    }

    fn from_repr(repr: CountBucketRepr<String>, names: &mut BucketNames, texts: &mut HashMap<u32, u32>) -> Self {
        let mut ids = |list: Vec<(String, u32)>| list.into_iter().map(|(s, n)| (names.id(&s), n)).collect();
        let users = ids(repr.users);
        let hosts = ids(repr.hosts);
        let sources = repr
            .sources
            .into_iter()
            .map(|(s, n)| (names.restored_address_id(&s, texts), n))
            .collect();
        CountBucket {
            count: repr.count,
            users,
            sources,
            hosts,
            // Rebuilt on first use (their lengths disagree with the lists').
            index: Default::default(),
        }
    }
}

impl RelatedJobs {
    fn open_bucket_repr(&self) -> OpenBucketRepr<'_> {
        let names = &self.names;
        OpenBucketRepr {
            logons: self
                .logons
                .iter()
                .map(|l| UserLogonRepr {
                    user: Cow::Borrowed(names.get(l.user)),
                    first_time: l.first_time,
                    count: l.count,
                    source: l.source.map(|id| names.address(id)),
                    host: l.host.map(|id| Cow::Borrowed(names.get(id))),
                })
                .collect(),
            fail_bucket: self.fail_bucket.repr(names),
            success_bucket: self.success_bucket.repr(names),
            source_buckets: self.source_buckets[..self.open_sources]
                .iter()
                .map(|(ip, b)| (*ip, b.repr(names)))
                .collect(),
        }
    }

    fn from_repr(r: RelatedJobsRepr) -> RelatedJobs {
        let mut jobs = RelatedJobs {
            rare_user: r.rare_user,
            rare_hour: r.rare_hour,
            fails: r.fails,
            successes: r.successes,
            sources: r.sources,
            sources_overall: r.sources_overall,
            first_day: r.first_day,
            anomaly_runs: r.anomaly_runs,
            ..RelatedJobs::default()
        };
        let names = &mut jobs.names;
        let mut texts = HashMap::default();
        for l in r.logons {
            let user = names.id(&l.user);
            // A crafted snapshot may name a user twice: the first logon is the one found.
            if jobs.logon_slots.get(user).is_none() {
                jobs.logon_slots.set(user, jobs.logons.len());
            } else {
                jobs.logons_repeat_users = true;
            }
            jobs.logons.push(UserLogon {
                user,
                first_time: l.first_time,
                count: l.count,
                source: l.source.map(|s| names.restored_address_id(&s, &mut texts)),
                host: l.host.map(|h| names.id(&h)),
            });
        }
        jobs.fail_bucket = CountBucket::from_repr(r.fail_bucket, names, &mut texts);
        jobs.success_bucket = CountBucket::from_repr(r.success_bucket, names, &mut texts);
        for (ip, bucket) in r.source_buckets {
            let id = names.address_id(ip);
            if jobs.source_slots.get(id).is_none() {
                jobs.source_slots.set(id, jobs.source_buckets.len());
            }
            let bucket = CountBucket::from_repr(bucket, names, &mut texts);
            jobs.source_buckets.push((ip, bucket));
            jobs.open_sources += 1;
        }
        jobs
    }
}

impl Serialize for RelatedJobs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let open = self.open_bucket_repr();
        RelatedJobsView {
            rare_user: &self.rare_user,
            rare_hour: &self.rare_hour,
            fails: &self.fails,
            successes: &self.successes,
            sources: &self.sources,
            sources_overall: &self.sources_overall,
            first_day: self.first_day,
            logons: open.logons,
            fail_bucket: open.fail_bucket,
            success_bucket: open.success_bucket,
            source_buckets: open.source_buckets,
            anomaly_runs: &self.anomaly_runs,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RelatedJobs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RelatedJobsRepr::deserialize(deserializer).map(RelatedJobs::from_repr)
    }
}

/// Equal state: the same models and the same open bucket by name (ids depend on arrival order).
impl PartialEq for RelatedJobs {
    fn eq(&self, other: &Self) -> bool {
        self.rare_user == other.rare_user
            && self.rare_hour == other.rare_hour
            && self.fails == other.fails
            && self.successes == other.successes
            && self.sources == other.sources
            && self.sources_overall == other.sources_overall
            && self.first_day == other.first_day
            && self.anomaly_runs == other.anomaly_runs
            && self.open_bucket_repr() == other.open_bucket_repr()
    }
}

/// What the engine needs to know to run them.
#[derive(Clone, Copy, Debug)]
pub struct RelatedLimits {
    /// Days of history before a per-user or per-organisation job scores.
    pub learning_days: f64,
    /// Active days before a per-user job scores.
    pub min_active_days: u32,
    /// Idle days after which an entity is forgotten.
    pub prune_days: i32,
    /// A failed-logon spike is written only if at least this many distinct accounts failed in
    /// the bucket (config `failed_spike_min_distinct_users`).
    pub failed_spike_min_distinct_users: usize,
}

/// Which of the five jobs run: read from the configuration once, not per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnabledJobs {
    /// [`RARE_USER_JOB`].
    pub rare_user: bool,
    /// [`RARE_HOUR_JOB`].
    pub rare_hour: bool,
    /// [`FAILS_JOB`].
    pub fails: bool,
    /// [`SUCCESSES_JOB`].
    pub successes: bool,
    /// [`SOURCE_IP_SPIKE_JOB`].
    pub source_ip_spike: bool,
}

impl EnabledJobs {
    /// The related jobs among a configuration's `jobs`.
    pub fn from_jobs(jobs: &[String]) -> Self {
        let on = |job: &str| jobs.iter().any(|j| j == job);
        EnabledJobs {
            rare_user: on(RARE_USER_JOB),
            rare_hour: on(RARE_HOUR_JOB),
            fails: on(FAILS_JOB),
            successes: on(SUCCESSES_JOB),
            source_ip_spike: on(SOURCE_IP_SPIKE_JOB),
        }
    }
}

/// A record produced at bucket close, with the key its rule suppresses on.
pub struct RelatedRecord {
    /// The record.
    pub record: AnomalyRecord,
    /// Suppression key within the rule (user, address, or the top source address).
    pub suppression_key: String,
}

/// Which events a job takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Feed {
    /// A successful logon.
    Success,
    /// A failed logon.
    Failure,
}

fn verdict(
    job: &str,
    state: &str,
    score: f64,
    threshold: f64,
    reason: String,
    evidence: Option<serde_json::Value>,
) -> JobVerdict {
    JobVerdict {
        job_id: job.into(),
        state: state.into(),
        score: (score * 100.0).round() / 100.0,
        above_threshold: score >= threshold,
        // Verdicts come from the open bucket: provisional until it closes.
        is_interim: true,
        reason,
        evidence: evidence.map(JobEvidence::Other),
    }
}

/// The UTC hour of `ms`: the hour within its day (the same as the hour count mod 24, as a day is
/// 24 hours, with one division fewer).
fn hour_of(ms: i64) -> usize {
    (ms.rem_euclid(86_400_000) / 3_600_000) as usize
}

fn org_days(first_day: Option<i32>, bucket_ms: i64) -> f64 {
    first_day.map_or(0.0, |f| (bucket_ms.div_euclid(86_400_000) as i32 - f) as f64)
}

impl RelatedJobs {
    /// Whether the organisation's first day is set (by the first event observed, or a restored
    /// snapshot's).
    pub(crate) fn is_dated(&self) -> bool {
        self.first_day.is_some()
    }

    /// Adds one event (already through the datafeed filter of at least one of these jobs) to the
    /// open bucket and returns the real-time verdicts of the enabled jobs.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        enabled: EnabledJobs,
        feed: Feed,
        user: &str,
        source: Option<IpKey>,
        host: Option<&str>,
        time_ms: i64,
        bucket_ms: i64,
        limits: &RelatedLimits,
        threshold: &dyn Fn(&str) -> f64,
        want_verdicts: bool,
    ) -> Vec<JobVerdict> {
        self.first_day
            .get_or_insert_with(|| bucket_ms.div_euclid(86_400_000) as i32);
        let mut out = Vec::new();
        let bucket_index = (bucket_ms / 900_000) as i32;
        let logons_wanted = feed == Feed::Success && (enabled.rare_user || enabled.rare_hour);
        let counts_wanted = match feed {
            Feed::Failure => enabled.fails,
            Feed::Success => enabled.successes || enabled.source_ip_spike,
        };
        let (user_id, host_id, source_id) = if logons_wanted || counts_wanted {
            let names = &mut self.names;
            (
                names.id(user),
                host.map(|h| names.id(h)),
                source.map(|ip| names.address_id(ip)),
            )
        } else {
            (0, None, None)
        };
        // What the count buckets count: empty names are not counted.
        let counted = Counted {
            user: Some(user_id).filter(|_| !user.is_empty()),
            source: source_id,
            host: host_id.filter(|_| host.is_some_and(|h| !h.is_empty())),
        };
        match feed {
            Feed::Failure => {
                if enabled.fails {
                    self.fail_bucket.add(counted);
                    if want_verdicts {
                        out.push(self.count_verdict(
                            FAILS_JOB,
                            &self.fails,
                            self.fail_bucket.count,
                            bucket_ms,
                            limits,
                            threshold(FAILS_JOB),
                        ));
                    }
                }
            }
            Feed::Success => {
                if logons_wanted {
                    match self.logon_slots.get(user_id) {
                        Some(i) => {
                            let l = &mut self.logons[i];
                            l.count += 1;
                            l.first_time = l.first_time.min(time_ms);
                        }
                        None => {
                            self.logon_slots.set(user_id, self.logons.len());
                            self.logons.push(UserLogon {
                                user: user_id,
                                first_time: time_ms,
                                count: 1,
                                source: source_id,
                                host: host_id,
                            });
                        }
                    }
                }
                if enabled.rare_user && want_verdicts {
                    let day = bucket_ms.div_euclid(86_400_000) as i32;
                    out.push(match self.rare_user.assess(user, day, limits.learning_days) {
                        Some((score, ev)) => {
                            let state = ev.state.clone();
                            let reason = ev.reason.clone();
                            verdict(
                                RARE_USER_JOB,
                                &state,
                                score,
                                threshold(RARE_USER_JOB),
                                reason,
                                serde_json::to_value(ev).ok(),
                            )
                        }
                        None => verdict(
                            RARE_USER_JOB,
                            "known_account",
                            0.0,
                            100.0,
                            format!("{user} logs on regularly"),
                            None,
                        ),
                    });
                }
                if enabled.rare_hour && want_verdicts {
                    let (score, ev) = self.rare_hour.assess(
                        user,
                        hour_of(time_ms),
                        bucket_index,
                        limits.learning_days,
                        limits.min_active_days,
                    );
                    let state = ev.state.clone();
                    let reason = ev.reason.clone();
                    out.push(verdict(
                        RARE_HOUR_JOB,
                        &state,
                        score,
                        threshold(RARE_HOUR_JOB),
                        reason,
                        serde_json::to_value(ev).ok(),
                    ));
                }
                if enabled.successes {
                    self.success_bucket.add(counted);
                    if want_verdicts {
                        out.push(self.count_verdict(
                            SUCCESSES_JOB,
                            &self.successes,
                            self.success_bucket.count,
                            bucket_ms,
                            limits,
                            threshold(SUCCESSES_JOB),
                        ));
                    }
                }
                if enabled.source_ip_spike {
                    if let (Some(ip), Some(ip_id)) = (source, source_id) {
                        let i = match self.source_slots.get(ip_id) {
                            Some(i) => i,
                            None => {
                                let i = self.open_sources;
                                match self.source_buckets.get_mut(i) {
                                    // A kept bucket, emptied at the last close.
                                    Some(entry) => entry.0 = ip,
                                    None => self.source_buckets.push((ip, CountBucket::default())),
                                }
                                self.open_sources += 1;
                                self.source_slots.set(ip_id, i);
                                i
                            }
                        };
                        self.source_buckets[i].1.add(counted);
                        if !want_verdicts {
                            return out;
                        }
                        let count = self.source_buckets[i].1.count;
                        let (p, e) = self.source_probability(ip, count as f64);
                        let learning = org_days(self.first_day, bucket_ms) < limits.learning_days;
                        let score = if learning { 0.0 } else { spike_score(p) };
                        out.push(verdict(
                            SOURCE_IP_SPIKE_JOB,
                            if learning { "learning" } else { "scored" },
                            score,
                            threshold(SOURCE_IP_SPIKE_JOB),
                            format!(
                                "{count} successful logons from {ip} in this bucket so far (typical {:.1})",
                                e.mean
                            ),
                            None,
                        ));
                    }
                }
            }
        }
        out
    }

    fn count_verdict(
        &self,
        job: &str,
        model: &SeasonalCounts,
        count: u32,
        bucket_ms: i64,
        limits: &RelatedLimits,
        threshold: f64,
    ) -> JobVerdict {
        if org_days(self.first_day, bucket_ms) < limits.learning_days {
            return verdict(
                job,
                "learning",
                0.0,
                threshold,
                "the organisation's baseline is still being learnt".into(),
                None,
            );
        }
        match model.expect(bucket_ms) {
            Some(e) => {
                let score = spike_score(upper_tail_probability(count as f64, &e));
                verdict(
                    job,
                    "scored",
                    score,
                    threshold,
                    format!("{count} in this bucket so far; typical {:.1}", e.mean),
                    None,
                )
            }
            None => verdict(job, "learning", 0.0, threshold, "no baseline yet".into(), None),
        }
    }

    fn source_probability(&self, ip: IpKey, count: f64) -> (f64, Expectation) {
        address_probability(self.sources.get(&ip).map(|s| s.moments), self.sources_overall, count)
    }

    /// Closes the open bucket: scores what it holds against the models, then learns from it.
    pub fn close(&mut self, enabled: EnabledJobs, bucket_ms: i64, limits: &RelatedLimits) -> Vec<RelatedRecord> {
        let bucket_index = (bucket_ms / 900_000) as i32;
        let day = bucket_ms.div_euclid(86_400_000) as i32;
        let learning = org_days(self.first_day, bucket_ms) < limits.learning_days;
        let mut out = Vec::new();
        let names = &self.names;
        let logons = &self.logons;
        let user_of = |i: u32| names.get(logons[i as usize].user);

        // Records come out in user-name order; the models learn in any order (one logon per user,
        // and one user's learning does not change another's assessment within a job), so only the
        // few logons that make records are sorted.
        if enabled.rare_user {
            // While the organisation is learning every account is `learning`: no records, no
            // evidence.
            let scoring = !self.rare_user.is_learning(day, limits.learning_days);
            let mut found: Vec<(u32, f64, RareUserEvidence)> = Vec::new();
            let mut keep = |i: usize, assessed: Option<(f64, RareUserEvidence)>| {
                if let Some((score, ev)) = assessed {
                    if ev.state != "learning" {
                        found.push((i as u32, score, ev));
                    }
                }
            };
            if self.logons_repeat_users {
                if scoring {
                    for (i, l) in logons.iter().enumerate() {
                        keep(i, self.rare_user.assess(names.get(l.user), day, limits.learning_days));
                    }
                }
                for l in logons {
                    self.rare_user.learn(names.get(l.user), day);
                }
            } else {
                // Each logon is assessed against the history before the bucket, then learnt.
                let before = self.rare_user.baseline();
                let assess = scoring.then_some((&before, limits.learning_days));
                for (i, l) in logons.iter().enumerate() {
                    keep(i, self.rare_user.learn_assessing(names.get(l.user), day, assess));
                }
            }
            crate::sort::sort_by(&mut found, |a, b| user_of(a.0).cmp(user_of(b.0)));
            for (i, score, ev) in found {
                let l = &logons[i as usize];
                let p = ev.probability;
                let mut r = base_record(
                    RARE_USER_JOB,
                    "rare",
                    bucket_ms,
                    score,
                    p,
                    serde_json::to_value(&ev).unwrap_or_default(),
                );
                r.typical = vec![p];
                r.actual = vec![1.0];
                r.anomaly_score_explanation.by_field_first_occurrence = ev.state == "new_account";
                out.push(user_record(r, l, names));
            }
        }
        if enabled.rare_hour {
            let mut found: Vec<(u32, f64, RareHourEvidence)> = Vec::new();
            for (i, l) in logons.iter().enumerate() {
                let found_here = self.rare_hour.assess_below_then_learn(
                    names.get(l.user),
                    hour_of(l.first_time),
                    bucket_index,
                    limits.learning_days,
                    limits.min_active_days,
                    RECORD_PROBABILITY,
                );
                if let Some((score, ev)) = found_here {
                    if ev.state == "scored" && ev.probability < RECORD_PROBABILITY {
                        found.push((i as u32, score, ev));
                    }
                }
            }
            crate::sort::sort_by(&mut found, |a, b| user_of(a.0).cmp(user_of(b.0)));
            for (i, score, ev) in found {
                let l = &logons[i as usize];
                let p = ev.probability;
                let typical_hour = ev.typical_hours.first().copied().unwrap_or(0) as f64;
                let mut r = base_record(
                    RARE_HOUR_JOB,
                    "time_of_day",
                    bucket_ms,
                    score,
                    p,
                    serde_json::to_value(&ev).unwrap_or_default(),
                );
                r.typical = vec![typical_hour * 3600.0 + 1800.0];
                r.actual = vec![(l.first_time.rem_euclid(86_400_000) / 1000) as f64];
                out.push(user_record(r, l, names));
            }
        }
        let used = self.logons.len();
        clear_for_reuse(&mut self.logons, used);
        self.logon_slots.clear();
        self.logons_repeat_users = false;

        for (job, is_fails, on) in [
            (FAILS_JOB, true, enabled.fails),
            (SUCCESSES_JOB, false, enabled.successes),
        ] {
            let (bucket, model) = if is_fails {
                (&mut self.fail_bucket, &mut self.fails)
            } else {
                (&mut self.success_bucket, &mut self.successes)
            };
            if bucket.count > 0 && on {
                if !learning {
                    if let Some(e) = model.expect(bucket_ms) {
                        let count = bucket.count as f64;
                        let p = upper_tail_probability(count, &e);
                        let gated = is_fails && bucket.users.len() < limits.failed_spike_min_distinct_users;
                        if p < RECORD_PROBABILITY && !gated {
                            let mut r = count_record(job, bucket_ms, count, p, &e, bucket, None, names);
                            r.record.multi_bucket_impact =
                                Some(run_impact(&mut self.anomaly_runs, job.to_string(), bucket_ms));
                            out.push(r);
                        }
                    }
                }
                model.add(bucket_ms, bucket.count as f64);
            }
            // Emptied, not dropped: the next bucket reuses its lists.
            bucket.empty();
        }

        // One entry per address, in address order (the order records and the shared prior take).
        let open = &self.source_buckets[..self.open_sources];
        let mut order = std::mem::take(&mut self.close_order);
        address_order(open, &mut order, &mut self.close_order_wide);
        if enabled.source_ip_spike {
            // Each address is scored against the history before this bucket, then learns it:
            // one look-up for both.
            let overall = self.sources_overall;
            for &position in &order {
                let (ip, bucket) = &open[position as u32 as usize];
                let count = bucket.count as f64;
                let history = self.sources.entry(*ip).or_default();
                let (p, e) = address_probability(Some(history.moments), overall, count);
                history.moments.add(count);
                history.last_bucket = bucket_index;
                self.sources_overall.add(count);
                if !learning && p < RECORD_PROBABILITY {
                    let impact = run_impact(&mut self.anomaly_runs, format!("{SOURCE_IP_SPIKE_JOB}:{ip}"), bucket_ms);
                    let mut r = count_record(SOURCE_IP_SPIKE_JOB, bucket_ms, count, p, &e, bucket, Some(*ip), names);
                    r.record.multi_bucket_impact = Some(impact);
                    out.push(r);
                }
            }
            if self.sources.len() > MAX_TRACKED_SOURCES {
                self.evict_sources();
            }
        }
        let used = order.len();
        clear_for_reuse(&mut order, used);
        self.close_order = order;
        self.close_sources();
        self.names.clear();
        out
    }

    /// Empties the open bucket's address buckets for reuse, keeping a bounded number with bounded
    /// room.
    fn close_sources(&mut self) {
        let used = self.open_sources;
        self.open_sources = 0;
        self.source_slots.clear();
        self.source_buckets.truncate(SPARE_BUCKETS);
        for (_, bucket) in self.source_buckets.iter_mut().take(used) {
            bucket.empty();
            // A kept bucket keeps room for a typical bucket, not for the largest one seen.
            for list in [&mut bucket.users, &mut bucket.sources, &mut bucket.hosts] {
                list.shrink_to(SPARE_LIST_ROOM);
            }
        }
        if self.source_buckets.capacity() > SPARE_BUCKETS {
            self.source_buckets.shrink_to(SPARE_BUCKETS);
        }
    }

    /// Keeps the most recently active tenth below the cap; the rest start over if they return.
    fn evict_sources(&mut self) {
        let mut last: Vec<i32> = self.sources.values().map(|s| s.last_bucket).collect();
        crate::sort::sort(&mut last);
        let cut = last[last.len() - MAX_TRACKED_SOURCES * 9 / 10];
        self.sources.retain(|_, s| s.last_bucket >= cut);
    }

    /// Keeps the per-user maps at or under `target_bytes` by forgetting the least recently active
    /// accounts (they start over). Returns how many entries went.
    pub fn evict(&mut self, target_bytes: usize) -> usize {
        let mut evicted = 0;
        // Source addresses first: a spray of addresses must not push out the users' histories.
        while self.memory_bytes() > target_bytes && !self.sources.is_empty() {
            let mut last: Vec<i32> = self.sources.values().map(|s| s.last_bucket).collect();
            crate::sort::sort(&mut last);
            let cut = last[last.len() / 2];
            let before = self.sources.len();
            self.sources.retain(|_, s| s.last_bucket > cut);
            self.sources.shrink_to_fit();
            evicted += before - self.sources.len();
            if before == self.sources.len() {
                break;
            }
        }
        while self.memory_bytes() > target_bytes
            && !(self.rare_user.accounts.is_empty() && self.rare_hour.users.is_empty())
        {
            // Drop the least established tenth per round (fewest active days up to a week, then
            // oldest): a flood of one-off names goes before established users. Bounded rounds.
            let key = |active: u32, last: i32| ((active.min(7) as i64) << 32) | (last as i64 & 0xffff_ffff);
            let mut keys: Vec<i64> = self
                .rare_user
                .accounts
                .values()
                .map(|a| key(a.active_days, a.last_day))
                .collect();
            keys.extend(self.rare_hour.users.values().map(|p| key(p.active_days, p.last_day)));
            crate::sort::sort(&mut keys);
            let cut = keys[keys.len() / 10];
            let before = self.rare_user.accounts.len() + self.rare_hour.users.len();
            self.rare_user
                .accounts
                .retain(|_, a| key(a.active_days, a.last_day) > cut);
            self.rare_hour.users.retain(|_, p| key(p.active_days, p.last_day) > cut);
            self.rare_user.accounts.shrink_to_fit();
            self.rare_hour.users.shrink_to_fit();
            let after = self.rare_user.accounts.len() + self.rare_hour.users.len();
            evicted += before - after;
            if before == after {
                break;
            }
        }
        evicted
    }

    /// Forgets entities idle longer than the prune window.
    fn prune_runs(&mut self, bucket_ms: i64) {
        self.anomaly_runs.retain(|_, (last, _)| bucket_ms - *last <= 86_400_000);
    }

    /// Forgets entities idle longer than the prune window.
    pub fn prune(&mut self, bucket_ms: i64, limits: &RelatedLimits) {
        let day = bucket_ms.div_euclid(86_400_000) as i32;
        self.prune_runs(bucket_ms);
        self.rare_user.prune(day, limits.prune_days);
        self.rare_hour.prune(day, limits.prune_days);
        let cutoff = (bucket_ms / 900_000) as i32 - limits.prune_days.saturating_mul(96);
        self.sources.retain(|_, s| s.last_bucket >= cutoff);
    }

    /// A constant-time estimate of [`RelatedJobs::memory_bytes`].
    pub fn memory_bytes_estimate(&self) -> usize {
        (self.rare_user.accounts.len() + self.rare_hour.users.len()) * 160
            + self.sources.len() * 64
            + self.names.memory_bytes()
            + self.source_buckets.len() * 256
    }

    /// Frees the buckets kept for reuse (a cache: under memory pressure it goes before any history
    /// does).
    pub fn release_spare(&mut self) {
        self.source_buckets.truncate(self.open_sources);
        self.source_buckets.shrink_to_fit();
    }

    /// Approximate bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.rare_user.memory_bytes()
            + self.rare_hour.memory_bytes()
            + self.fails.memory_bytes()
            + self.successes.memory_bytes()
            + crate::model::compact::table_capacity(self.sources.len())
                * (std::mem::size_of::<(IpKey, SourceCounts)>() + 8)
            + self.source_buckets.capacity() * std::mem::size_of::<(IpKey, CountBucket)>()
            + self.source_buckets.iter().map(|(_, b)| b.list_bytes()).sum::<usize>()
            + self.fail_bucket.list_bytes()
            + self.success_bucket.list_bytes()
            + [&self.fail_bucket, &self.success_bucket]
                .iter()
                .flat_map(|b| &b.index)
                .map(|i| i.slots.memory_bytes())
                .sum::<usize>()
            + self.logons.capacity() * std::mem::size_of::<UserLogon>()
            + self.close_order.capacity() * std::mem::size_of::<u64>()
            + self.close_order_wide.capacity() * std::mem::size_of::<(u128, u32)>()
            + self.names.memory_bytes()
            + self.logon_slots.memory_bytes()
            + self.source_slots.memory_bytes()
    }

    /// A user's hour-of-day profile and account history, for `explain`.
    pub fn explain_user(&self, user: &str) -> serde_json::Value {
        json!({
            "account": self.rare_user.accounts.get(user),
            "hour_profile": self.rare_hour.users.get(user).map(|p| p.bins.to_vec()),
        })
    }
}

/// Fills `order` with the positions of `open`'s addresses (low 32 bits), in address order. When
/// the addresses differ only in their last 32 bits (IPv4, mostly), each position goes under those
/// bits and one `u64` sort does; else through `wide`, by full key.
fn address_order(open: &[(IpKey, CountBucket)], order: &mut Vec<u64>, wide: &mut Vec<(u128, u32)>) {
    let key = |ip: &IpKey| u128::from_be_bytes(ip.0);
    let prefix = open.first().map_or(0, |(ip, _)| key(ip) >> 32);
    if open.iter().all(|(ip, _)| key(ip) >> 32 == prefix) {
        order.extend(
            open.iter()
                .enumerate()
                .map(|(i, (ip, _))| (u64::from(key(ip) as u32) << 32) | i as u64),
        );
        crate::sort::sort_short_by(order, |a, b| a < b);
        return;
    }
    wide.extend(open.iter().enumerate().map(|(i, (ip, _))| (key(ip), i as u32)));
    crate::sort::sort_short_by(wide, |a, b| a < b);
    order.extend(wide.iter().map(|&(_, i)| u64::from(i)));
    let used = wide.len();
    clear_for_reuse(wide, used);
}

/// The probability of `count` logons from an address with history `own` (its own once it has
/// enough, else every address's, `overall`).
fn address_probability(own: Option<Moments>, overall: Moments, count: f64) -> (f64, Expectation) {
    let m = own.filter(|m| m.weight >= 2.5).unwrap_or(overall);
    let e = Expectation {
        mean: (m.mean as f64).max(1.0),
        var: (m.var as f64).max(m.mean as f64).max(1.0),
        seasonality: crate::model::counts::Seasonality::Overall,
        weight: m.weight as f64,
    };
    (upper_tail_probability(count, &e), e)
}

/// −5 when a count anomaly is this bucket alone, rising to +5 once it has lasted four buckets.
fn run_impact(runs: &mut HashMap<String, (i64, u32)>, series: String, bucket_ms: i64) -> f64 {
    let entry = runs.entry(series).or_insert((i64::MIN, 0));
    entry.1 = if entry.0 == bucket_ms - 900_000 { entry.1 + 1 } else { 1 };
    entry.0 = bucket_ms;
    -5.0 + 10.0 * (entry.1.min(4) - 1) as f64 / 3.0
}

fn base_record(
    job: &str,
    function: &str,
    bucket_ms: i64,
    score: f64,
    p: f64,
    evidence: serde_json::Value,
) -> AnomalyRecord {
    let score = (score * 100.0).round() / 100.0;
    AnomalyRecord {
        job_id: job.into(),
        result_type: "record".into(),
        probability: p,
        record_score: score,
        initial_record_score: score,
        severity: severity_label(score).into(),
        bucket_span: 900,
        detector_index: 0,
        is_interim: false,
        multi_bucket_impact: None,
        timestamp: bucket_ms,
        function: function.into(),
        function_description: function.into(),
        by_field_name: String::new(),
        by_field_value: String::new(),
        partition_field_name: String::new(),
        partition_field_value: String::new(),
        typical: Vec::new(),
        actual: Vec::new(),
        influencers: Vec::new(),
        anomaly_score_explanation: ScoreExplanation {
            by_field_first_occurrence: false,
            by_field_relative_rarity: None,
            profile: "adaptive".into(),
            evidence: JobEvidence::Other(evidence),
        },
        event_count: 0,
        first_event_time: bucket_ms,
        source_ip: Vec::new(),
        user_name: Vec::new(),
        host_name: Vec::new(),
    }
}

/// A record of the per-user jobs (rare user, unusual hour) for logon `l`: by `user.name`, its
/// influencers, suppressed per user.
fn user_record(mut r: AnomalyRecord, l: &UserLogon, names: &BucketNames) -> RelatedRecord {
    r.by_field_name = "user.name".into();
    r.by_field_value = names.get(l.user).to_string();
    r.event_count = l.count;
    r.first_event_time = l.first_time;
    let user = names.get(l.user).to_string();
    r.user_name = vec![user.clone()];
    r.influencers.push(Influencer {
        influencer_field_name: "user.name".into(),
        influencer_field_values: vec![user],
    });
    if let Some(s) = l.source.map(|id| names.address(id)) {
        r.source_ip = vec![s.to_string()];
        r.influencers.push(Influencer {
            influencer_field_name: "source.ip".into(),
            influencer_field_values: vec![s.to_string()],
        });
    }
    if let Some(h) = l.host.map(|id| names.get(id)) {
        r.host_name = vec![h.to_string()];
        r.influencers.push(Influencer {
            influencer_field_name: "host.name".into(),
            influencer_field_values: vec![h.to_string()],
        });
    }
    RelatedRecord {
        record: r,
        suppression_key: names.get(l.user).to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn count_record(
    job: &str,
    bucket_ms: i64,
    count: f64,
    p: f64,
    e: &Expectation,
    bucket: &CountBucket<impl ListIndex>,
    ip: Option<IpKey>,
    names: &BucketNames,
) -> RelatedRecord {
    let score = spike_score(p);
    let distinct_users = bucket.users.len();
    let distinct_sources = bucket.sources.len();
    let what = match job {
        FAILS_JOB => "failed logons",
        _ => "successful logons",
    };
    let from = ip.map(|i| format!(" from {i}")).unwrap_or_default();
    let top_sources = names.top_addresses(&bucket.sources);
    let top_users = names.top_names(&bucket.users);
    let reason = format!(
        "{count:.0} {what}{from} in 15 minutes against a typical {:.1} ({}); {distinct_users} accounts ({}), {distinct_sources} source addresses ({})",
        e.mean,
        match e.seasonality {
            crate::model::counts::Seasonality::HourOfWeek => "same hour, same weekday",
            crate::model::counts::Seasonality::HourOfDayAndDayType => "same hour, weekday/weekend",
            crate::model::counts::Seasonality::HourOfDay => "same hour of day",
            crate::model::counts::Seasonality::Overall => "all buckets",
        },
        top_users.join(", "),
        top_sources.join(", "),
    );
    let evidence = json!({
        "count": count,
        "expected": (e.mean * 100.0).round() / 100.0,
        "expected_variance": (e.var * 100.0).round() / 100.0,
        "seasonality": e.seasonality,
        "baseline_weight": (e.weight * 10.0).round() / 10.0,
        "distinct_users": distinct_users,
        "distinct_source_ips": distinct_sources,
        "top_users": top_users,
        "top_source_ips": top_sources,
        "probability": p,
        "reason": reason,
    });
    let mut r = base_record(job, "high_non_zero_count", bucket_ms, score, p, evidence);
    r.typical = vec![(e.mean * 100.0).round() / 100.0];
    r.actual = vec![count];
    r.event_count = count as u32;
    r.influencers = bucket.influencers(names);
    if let Some(ip) = ip {
        r.by_field_name = "source.ip".into();
        r.by_field_value = ip.to_string();
        r.source_ip = vec![ip.to_string()];
        r.user_name = top_users.clone();
    } else {
        r.source_ip = top_sources.clone();
        r.user_name = top_users.clone();
    }
    r.host_name = names.top_names(&bucket.hosts);
    // One alert per rule and attacking address per window.
    let key = ip
        .map(|i| i.to_string())
        .or_else(|| top_sources.first().cloned())
        .unwrap_or_default();
    RelatedRecord {
        record: r,
        suppression_key: key,
    }
}

#[cfg(test)]
mod index_tests {
    use crate::{Config, Detector, OutputKind};

    /// Busy buckets (more distinct users, hosts and addresses than `INDEX_FROM`, on both outcome
    /// feeds) give the same output with the lookup indexes, including across a snapshot taken
    /// mid-bucket (the restored detector starts with empty indexes and must rebuild them).
    #[test]
    fn busy_buckets_survive_a_mid_bucket_restore() {
        let line = |day: i64, i: usize, outcome: &str| {
            let ts = crate::time::format_rfc3339_ms(1_790_812_800_000 + day * 86_400_000 + (i as i64 % 800) * 1000);
            format!(
                r#"{{"@timestamp":"{ts}","event":{{"category":["authentication"],"outcome":"{outcome}"}},"user":{{"name":"u{:02}"}},"source":{{"ip":"10.{}.{}.{}"}},"host":{{"name":"h{}"}}}}"#,
                i % 100,
                // The last day: new addresses (rare-address records).
                if day == 9 { 9 } else { 1 },
                i % 7,
                i % 50,
                i % 70
            ) + "\n"
        };
        let mut days: Vec<String> = Vec::new();
        for day in 0..10 {
            let mut text = String::new();
            for i in 0..400 {
                text += &line(day, i, if i % 5 == 0 { "failure" } else { "success" });
            }
            days.push(text);
        }
        let config = Config::from_json(r#"{"output":"records"}"#).unwrap();
        let mut straight = Detector::new(config.clone()).unwrap();
        let mut restored = Detector::new(config).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for text in &days {
            let (first, second) = text.split_at(text.len() / 2 + text[text.len() / 2..].find('\n').unwrap() + 1);
            a.extend(straight.push_ndjson(first.as_bytes()));
            a.extend(straight.push_ndjson(second.as_bytes()));
            b.extend(restored.push_ndjson(first.as_bytes()));
            restored = Detector::restore(&restored.snapshot().unwrap()).unwrap();
            restored.set_output(OutputKind::Records);
            b.extend(restored.push_ndjson(second.as_bytes()));
        }
        straight.flush().to_ndjson(OutputKind::Records, &mut a);
        restored.flush().to_ndjson(OutputKind::Records, &mut b);
        assert!(!a.is_empty());
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
        let (mut sa, mut sb) = (straight.stats(), restored.stats());
        sa.memory_bytes = 0;
        sb.memory_bytes = 0;
        assert_eq!(sa, sb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn all_jobs() -> EnabledJobs {
        EnabledJobs::from_jobs(
            &[
                RARE_USER_JOB,
                RARE_HOUR_JOB,
                FAILS_JOB,
                SUCCESSES_JOB,
                SOURCE_IP_SPIKE_JOB,
            ]
            .map(String::from),
        )
    }

    pub(super) fn test_limits() -> RelatedLimits {
        RelatedLimits {
            learning_days: 7.0,
            min_active_days: 3,
            prune_days: 90,
            failed_spike_min_distinct_users: 2,
        }
    }

    #[test]
    fn kept_address_buckets_are_bounded() {
        let mut jobs = RelatedJobs::default();
        let limits = test_limits();
        let all = all_jobs();
        let bucket = 1_790_812_800_000i64;
        let address = |i: u32| IpKey::from_ip(std::net::IpAddr::V4(i.into()));
        for i in 0..(SPARE_BUCKETS as u32 + 100) {
            let users = if i == 0 { 5_000 } else { 1 };
            for u in 0..users {
                let user = format!("u{u}");
                jobs.observe(
                    all,
                    Feed::Success,
                    &user,
                    Some(address(i)),
                    None,
                    bucket,
                    bucket,
                    &limits,
                    &|_| 75.0,
                    false,
                );
            }
        }
        assert_eq!(jobs.open_sources, SPARE_BUCKETS + 100);
        assert_eq!(jobs.source_buckets[0].1.users.len(), 5_000);
        jobs.close(all, bucket, &limits);
        assert_eq!((jobs.open_sources, jobs.source_buckets.len()), (0, SPARE_BUCKETS));
        let (_, kept) = &jobs.source_buckets[0];
        assert_eq!(kept.count, 0);
        assert!(kept.users.is_empty() && kept.users.capacity() <= SPARE_LIST_ROOM);
        // The next bucket reuses them.
        jobs.observe(
            all,
            Feed::Success,
            "alice",
            Some(address(7)),
            None,
            bucket,
            bucket + 900_000,
            &limits,
            &|_| 75.0,
            false,
        );
        assert_eq!((jobs.open_sources, jobs.source_buckets.len()), (1, SPARE_BUCKETS));
        assert_eq!(jobs.source_buckets[0].0, address(7));
        assert_eq!(jobs.source_buckets[0].1.count, 1);
    }

    #[test]
    fn address_order_is_by_full_key() {
        let v4 = |i: u32| IpKey::from_ip(std::net::IpAddr::V4((i.wrapping_mul(0x9e37_79b9) % 100_003).into()));
        let v6 = |i: u32| IpKey::from_ip(std::net::IpAddr::V6((u128::from(i) * 0x9e37_79b9_7f4a_7c15).into()));
        for mixed in [false, true] {
            for len in [0u32, 1, 7, 70] {
                let open: Vec<(IpKey, CountBucket)> = (0..len)
                    .map(|i| (if mixed && i % 3 == 0 { v6(i) } else { v4(i) }, CountBucket::default()))
                    .collect();
                let (mut order, mut wide) = (Vec::new(), Vec::new());
                address_order(&open, &mut order, &mut wide);
                let got: Vec<IpKey> = order.iter().map(|&p| open[p as u32 as usize].0).collect();
                let mut expected: Vec<IpKey> = open.iter().map(|(ip, _)| *ip).collect();
                crate::sort::sort(&mut expected);
                assert_eq!(got, expected, "{mixed} {len}");
            }
        }
    }

    #[test]
    fn hour_of_is_the_hour_count_mod_24() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -86_400_001,
            -3_600_000,
            -1,
            0,
            1,
            3_599_999,
            86_399_999,
            i64::MAX,
        ];
        for t in edges.into_iter().chain((0..10_000).map(|_| {
            let ms = next() as i64;
            ms >> (ms & 31)
        })) {
            assert_eq!(hour_of(t), t.div_euclid(3_600_000).rem_euclid(24) as usize, "{t}");
        }
    }

    #[test]
    fn names_are_kept_once_per_bucket() {
        let mut names = BucketNames::default();
        let alice = names.id("alice");
        let ip: IpKey = IpKey::from_ip("10.1.2.3".parse().unwrap());
        let address = names.address_id(ip);
        assert_eq!(names.id("alice"), alice);
        assert_eq!(names.address_id(ip), address);
        assert_eq!((names.get(alice), &*names.address(address)), ("alice", "10.1.2.3"));
        // Restored texts: an address's own text is that address; any other text stays as it is.
        let mut texts = HashMap::default();
        assert_eq!(names.restored_address_id("10.1.2.3", &mut texts), address);
        let odd = names.restored_address_id("::FFFF:10.1.2.3", &mut texts);
        assert_ne!(odd, address);
        assert_eq!(names.restored_address_id("::FFFF:10.1.2.3", &mut texts), odd);
        assert_eq!(names.address(odd), "::FFFF:10.1.2.3");
        names.clear();
        assert_eq!(names.id("bob"), 0);
        assert_eq!(names.get(0), "bob");
    }
}

#[cfg(test)]
mod snapshot_format_tests {
    use super::tests::{all_jobs, test_limits};
    use super::*;

    /// The open bucket's types as they were when they held their names as `String`s (the
    /// encoding snapshots have): the interned form must write and read exactly these bytes.
    #[derive(Serialize, Deserialize)]
    struct OldUserLogon {
        user: String,
        first_time: i64,
        count: u32,
        source: Option<String>,
        host: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct OldCountBucket {
        count: u32,
        users: Vec<(String, u32)>,
        sources: Vec<(String, u32)>,
        hosts: Vec<(String, u32)>,
    }

    #[derive(Serialize, Deserialize)]
    struct OldRelatedJobs {
        rare_user: RareUserModel,
        rare_hour: RareHourModel,
        fails: SeasonalCounts,
        successes: SeasonalCounts,
        sources: HashMap<IpKey, SourceCounts>,
        sources_overall: Moments,
        first_day: Option<i32>,
        logons: Vec<OldUserLogon>,
        fail_bucket: OldCountBucket,
        success_bucket: OldCountBucket,
        source_buckets: Vec<(IpKey, OldCountBucket)>,
        anomaly_runs: HashMap<String, (i64, u32)>,
    }

    fn counts(list: &[(&str, u32)]) -> Vec<(String, u32)> {
        list.iter().map(|&(s, n)| (s.to_string(), n)).collect()
    }

    #[test]
    fn a_mid_bucket_state_encodes_as_it_always_has() {
        let all = all_jobs();
        let limits = test_limits();
        let ip = |s: &str| IpKey::from_ip(s.parse().unwrap());
        let (t, bucket) = (1_790_812_800_000i64, 1_790_812_800_000i64);
        let mut jobs = RelatedJobs::default();
        let mut observe = |feed, user, source: &str, host, dt| {
            jobs.observe(
                all,
                feed,
                user,
                Some(ip(source)),
                host,
                t + dt,
                bucket,
                &limits,
                &|_| 75.0,
                false,
            );
        };
        observe(Feed::Success, "bob", "10.0.0.2", Some("web"), 5);
        observe(Feed::Failure, "alice", "10.0.0.1", Some("db"), 1);
        observe(Feed::Success, "alice", "10.0.0.1", Some(""), 3);
        observe(Feed::Success, "bob", "10.0.0.1", None, 2);
        observe(Feed::Failure, "", "::1", None, 4);
        let old = OldRelatedJobs {
            rare_user: RareUserModel::default(),
            rare_hour: RareHourModel::default(),
            fails: SeasonalCounts::default(),
            successes: SeasonalCounts::default(),
            sources: HashMap::default(),
            sources_overall: Moments::default(),
            first_day: Some(20_727),
            logons: vec![
                OldUserLogon {
                    user: "bob".into(),
                    first_time: t + 2,
                    count: 2,
                    source: Some("10.0.0.2".into()),
                    host: Some("web".into()),
                },
                OldUserLogon {
                    user: "alice".into(),
                    first_time: t + 3,
                    count: 1,
                    source: Some("10.0.0.1".into()),
                    host: Some("".into()),
                },
            ],
            fail_bucket: OldCountBucket {
                count: 2,
                users: counts(&[("alice", 1)]),
                sources: counts(&[("10.0.0.1", 1), ("::1", 1)]),
                hosts: counts(&[("db", 1)]),
            },
            success_bucket: OldCountBucket {
                count: 3,
                users: counts(&[("bob", 2), ("alice", 1)]),
                sources: counts(&[("10.0.0.2", 1), ("10.0.0.1", 2)]),
                hosts: counts(&[("web", 1)]),
            },
            source_buckets: vec![
                (
                    ip("10.0.0.2"),
                    OldCountBucket {
                        count: 1,
                        users: counts(&[("bob", 1)]),
                        sources: counts(&[("10.0.0.2", 1)]),
                        hosts: counts(&[("web", 1)]),
                    },
                ),
                (
                    ip("10.0.0.1"),
                    OldCountBucket {
                        count: 2,
                        users: counts(&[("alice", 1), ("bob", 1)]),
                        sources: counts(&[("10.0.0.1", 2)]),
                        hosts: Vec::new(),
                    },
                ),
            ],
            anomaly_runs: HashMap::default(),
        };
        let old_bytes = postcard::to_allocvec(&old).unwrap();
        assert_eq!(postcard::to_allocvec(&jobs).unwrap(), old_bytes);
        // Old bytes restore to the same state, which writes them again and goes on counting.
        let mut restored: RelatedJobs = postcard::from_bytes(&old_bytes).unwrap();
        assert!(restored == jobs);
        assert_eq!(postcard::to_allocvec(&restored).unwrap(), old_bytes);
        for j in [&mut jobs, &mut restored] {
            j.observe(
                all,
                Feed::Success,
                "alice",
                Some(ip("10.0.0.1")),
                Some("db"),
                t + 9,
                bucket,
                &limits,
                &|_| 75.0,
                false,
            );
        }
        assert!(restored == jobs);
        assert_eq!(
            postcard::to_allocvec(&restored).unwrap(),
            postcard::to_allocvec(&jobs).unwrap()
        );

        // Texts that are not an address's own (a crafted snapshot's) come back as they were.
        let mut crafted = old;
        crafted.fail_bucket.sources = counts(&[("not an address", 3), ("10.0.0.1", 1), ("::FFFF:10.0.0.1", 2)]);
        crafted.logons[0].source = Some("not an address".into());
        let crafted_bytes = postcard::to_allocvec(&crafted).unwrap();
        let restored: RelatedJobs = postcard::from_bytes(&crafted_bytes).unwrap();
        assert_eq!(postcard::to_allocvec(&restored).unwrap(), crafted_bytes);
    }

    /// A crafted snapshot whose open bucket names a dormant user twice: both logons are assessed
    /// against the history before the bucket (as when every logon was assessed before any was
    /// learnt), so both make a record.
    #[test]
    fn a_user_named_twice_is_assessed_twice_before_learning() {
        let day = 20_727;
        let bucket = i64::from(day) * 86_400_000;
        let logon = |user: &str| OldUserLogon {
            user: user.into(),
            first_time: bucket,
            count: 1,
            source: None,
            host: None,
        };
        let bucket_of = || OldCountBucket {
            count: 0,
            users: Vec::new(),
            sources: Vec::new(),
            hosts: Vec::new(),
        };
        let records = |logons: Vec<OldUserLogon>| {
            let mut rare_user = RareUserModel::default();
            rare_user.learn("alice", day - 60);
            rare_user.learn("bob", day - 60);
            rare_user.learn("alice", day - 1);
            let old = OldRelatedJobs {
                rare_user,
                rare_hour: RareHourModel::default(),
                fails: SeasonalCounts::default(),
                successes: SeasonalCounts::default(),
                sources: HashMap::default(),
                sources_overall: Moments::default(),
                first_day: Some(day - 60),
                logons,
                fail_bucket: bucket_of(),
                success_bucket: bucket_of(),
                source_buckets: Vec::new(),
                anomaly_runs: HashMap::default(),
            };
            let mut jobs: RelatedJobs = postcard::from_bytes(&postcard::to_allocvec(&old).unwrap()).unwrap();
            let out = jobs.close(all_jobs(), bucket, &test_limits());
            let users: Vec<String> = out
                .iter()
                .filter(|r| r.record.job_id == RARE_USER_JOB)
                .map(|r| r.suppression_key.clone())
                .collect();
            (users, jobs.rare_user.accounts["bob"].active_days)
        };
        assert_eq!(
            records(vec![logon("bob"), logon("alice")]),
            (vec!["bob".to_string()], 2)
        );
        assert_eq!(
            records(vec![logon("bob"), logon("alice"), logon("bob")]),
            (vec!["bob".to_string(), "bob".to_string()], 2)
        );
    }
}
