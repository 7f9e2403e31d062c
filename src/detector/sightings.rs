//! The open bucket's (user, address) sightings for the rare-IP job.
//!
//! Every accepted event lands here, so the structure is built not to allocate per event: a
//! sighting keeps up to [`MAX_HOSTS`] host names as 4-byte ids into a name table that outlives the
//! bucket, and the list, its index and the table keep their capacity from one bucket to the next.
//! Snapshots hold the names themselves, encoded exactly as the earlier `Vec<Sighting>` with
//! `hosts: Vec<String>` was, so snapshot files are unchanged.

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;

use crate::model::compact::{clear_for_reuse, table_capacity, KeyIndex, KEPT_AFTER_BURST};
use crate::net::IpKey;
use crate::FastMap;

/// Host names kept per sighting (the record's `host.name` influencer lists at most this many).
pub(super) const MAX_HOSTS: usize = 8;

/// Distinct host names the table may hold before it is emptied at the next bucket close; bounds
/// its memory when host names churn (each costs one small allocation, paid again after a reset).
const HOST_NAMES_KEPT: usize = 4096;

/// Sightings of one (user, address) in the open bucket.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sighting {
    pub(super) user: u32,
    pub(super) ip: IpKey,
    pub(super) count: u32,
    pub(super) first_time: i64,
    /// Ids into [`OpenSightings::host_names`], in order of first appearance; `host_count` used.
    hosts: [u32; MAX_HOSTS],
    host_count: u8,
}

impl Sighting {
    fn host_ids(&self) -> &[u32] {
        &self.hosts[..usize::from(self.host_count)]
    }
}

/// The open bucket's sightings in arrival order, an index by (user, address), and the host name
/// table their ids point into.
#[derive(Clone, Debug, Default)]
pub(super) struct OpenSightings {
    list: Vec<Sighting>,
    index: FastMap<(u32, IpKey), u32>,
    host_names: Vec<Box<str>>,
    host_index: KeyIndex,
}

impl OpenSightings {
    /// Counts one event of `user` from `ip` at `time_ms`, on `host` when named.
    pub(super) fn record(&mut self, user: u32, ip: IpKey, time_ms: i64, host: Option<&str>) {
        let host = host.map(|name| self.host_id(name));
        // One hash and probe per event, found or not (most events are a new pair in the bucket).
        // u32 positions: a bucket with more than 4 billion sightings is not a case to design for,
        // but saturate rather than wrap if it happened.
        let next = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        match self.index.entry((user, ip)) {
            Entry::Occupied(found) => {
                let s = &mut self.list[*found.get() as usize];
                s.count = s.count.saturating_add(1);
                s.first_time = s.first_time.min(time_ms);
                if let Some(id) = host {
                    let n = usize::from(s.host_count);
                    if n < MAX_HOSTS && !s.hosts[..n].contains(&id) {
                        s.hosts[n] = id;
                        s.host_count += 1;
                    }
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(next);
                let mut s = Sighting {
                    user,
                    ip,
                    count: 1,
                    first_time: time_ms,
                    hosts: [0; MAX_HOSTS],
                    host_count: 0,
                };
                if let Some(id) = host {
                    s.hosts[0] = id;
                    s.host_count = 1;
                }
                self.list.push(s);
            }
        }
    }

    fn host_id(&mut self, name: &str) -> u32 {
        let names = &self.host_names;
        if let Some(id) = self.host_index.get(name, |id| &names[id as usize]) {
            return id;
        }
        let id = u32::try_from(self.host_names.len()).unwrap_or(u32::MAX);
        self.host_names.push(name.into());
        let names = &self.host_names;
        self.host_index.insert(name, id, &|id| &names[id as usize]);
        id
    }

    /// The host names of a sighting, in order of first appearance.
    pub(super) fn hosts(&self, s: &Sighting) -> Vec<String> {
        s.host_ids()
            .iter()
            .map(|&id| self.host_names[id as usize].to_string())
            .collect()
    }

    /// Takes the bucket's sightings out (to be scored and learnt while `self` still resolves their
    /// host names); hand the emptied list back with [`OpenSightings::close`].
    pub(super) fn take(&mut self) -> Vec<Sighting> {
        self.index.clear();
        std::mem::take(&mut self.list)
    }

    /// Ends the bucket: keeps the list's capacity for the next one (but gives back what a burst
    /// left: more than four times what this bucket used), and empties the host name table once it
    /// has grown past [`HOST_NAMES_KEPT`] (no sighting refers to it any more).
    pub(super) fn close(&mut self, mut list: Vec<Sighting>) {
        let used = list.len();
        if clear_for_reuse(&mut list, used) {
            self.index.shrink_to(KEPT_AFTER_BURST.max(2 * used));
        }
        self.list = list;
        if self.host_names.len() > HOST_NAMES_KEPT {
            self.host_names = Vec::new();
            self.host_index = KeyIndex::default();
        }
    }

    /// Heap bytes held (capacities, and the host names with a 16-byte allocation overhead each).
    pub(super) fn memory_bytes(&self) -> usize {
        self.list.capacity() * std::mem::size_of::<Sighting>()
            + table_capacity(self.index.len()) * (std::mem::size_of::<((u32, IpKey), u32)>() + 1)
            + self.host_names.capacity() * std::mem::size_of::<Box<str>>()
            + self.host_names.iter().map(|n| n.len() + 16).sum::<usize>()
            + self.host_index.heap_bytes()
    }
}

/// Two open buckets are equal when they hold the same sightings with the same host names,
/// whatever names the tables keep from earlier buckets.
impl PartialEq for OpenSightings {
    fn eq(&self, other: &Self) -> bool {
        self.list.len() == other.list.len()
            && self.list.iter().zip(&other.list).all(|(a, b)| {
                (a.user, a.ip, a.count, a.first_time) == (b.user, b.ip, b.count, b.first_time)
                    && a.host_count == b.host_count
                    && a.host_ids()
                        .iter()
                        .zip(b.host_ids())
                        .all(|(&x, &y)| self.host_names[x as usize] == other.host_names[y as usize])
            })
    }
}

/// A sighting as snapshots encode it (the field order is the encoding: do not reorder).
#[derive(Serialize)]
struct SightingDoc<'a> {
    user: u32,
    ip: IpKey,
    count: u32,
    first_time: i64,
    hosts: HostNames<'a>,
}

struct HostNames<'a> {
    ids: &'a [u32],
    names: &'a [Box<str>],
}

impl Serialize for HostNames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.ids.iter().map(|&id| &*self.names[id as usize]))
    }
}

#[derive(Deserialize)]
struct OwnedSightingDoc {
    user: u32,
    ip: IpKey,
    count: u32,
    first_time: i64,
    hosts: Vec<String>,
}

impl Serialize for OpenSightings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.list.iter().map(|x| SightingDoc {
            user: x.user,
            ip: x.ip,
            count: x.count,
            first_time: x.first_time,
            hosts: HostNames {
                ids: x.host_ids(),
                names: &self.host_names,
            },
        }))
    }
}

impl<'de> Deserialize<'de> for OpenSightings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let docs = Vec::<OwnedSightingDoc>::deserialize(d)?;
        let mut open = OpenSightings::default();
        for doc in docs {
            // Replaying the sighting's hosts in order rebuilds the same list (a snapshot never
            // holds more than MAX_HOSTS of them, nor repeats one; extra ones would be dropped).
            let mut hosts = doc.hosts.iter().map(String::as_str);
            open.record(doc.user, doc.ip, doc.first_time, hosts.next());
            for h in hosts {
                open.record(doc.user, doc.ip, doc.first_time, Some(h));
            }
            if let Some(&i) = open.index.get(&(doc.user, doc.ip)) {
                open.list[i as usize].count = doc.count;
            }
        }
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpKey {
        IpKey::from_ip(std::net::IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn counts_merge_per_user_and_address_and_hosts_stay_distinct_and_bounded() {
        let mut open = OpenSightings::default();
        open.record(1, ip(1), 500, Some("web-1"));
        open.record(1, ip(1), 400, Some("web-1"));
        open.record(1, ip(1), 450, None);
        for h in 0..20 {
            open.record(1, ip(1), 600, Some(&format!("h{h}")));
        }
        open.record(2, ip(1), 700, None);
        let list = open.take();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].count, list[0].first_time), (23, 400));
        let hosts = open.hosts(&list[0]);
        assert_eq!(hosts.len(), MAX_HOSTS);
        assert_eq!(hosts[..2], ["web-1".to_string(), "h0".to_string()]);
        assert!(open.hosts(&list[1]).is_empty());
        open.close(list);
        assert!(open.take().is_empty(), "closing empties the list");
    }

    #[test]
    fn a_burst_bucket_gives_its_room_back() {
        let mut open = OpenSightings::default();
        for u in 0..50_000 {
            open.record(u, ip(1), 0, None);
        }
        let list = open.take();
        open.close(list);
        let after_burst = open.memory_bytes();
        open.record(1, ip(1), 0, None);
        let list = open.take();
        open.close(list);
        assert!(open.list.capacity() <= 2 * KEPT_AFTER_BURST, "{}", open.list.capacity());
        assert!(
            open.memory_bytes() * 10 < after_burst,
            "{} then {after_burst}",
            open.memory_bytes()
        );
    }

    #[test]
    fn snapshot_encoding_is_a_list_of_sightings_with_host_names() {
        #[derive(Serialize)]
        struct Old {
            user: u32,
            ip: IpKey,
            count: u32,
            first_time: i64,
            hosts: Vec<String>,
        }
        let mut open = OpenSightings::default();
        open.record(3, ip(9), 1_000, Some("a"));
        open.record(3, ip(9), 900, Some("b"));
        open.record(4, ip(8), 1_100, None);
        let old = vec![
            Old {
                user: 3,
                ip: ip(9),
                count: 2,
                first_time: 900,
                hosts: vec!["a".into(), "b".into()],
            },
            Old {
                user: 4,
                ip: ip(8),
                count: 1,
                first_time: 1_100,
                hosts: vec![],
            },
        ];
        let bytes = postcard::to_allocvec(&open).expect("encode");
        assert_eq!(bytes, postcard::to_allocvec(&old).expect("encode old"));
        let back: OpenSightings = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, open);
        assert_eq!(back.hosts(&back.list[0]), ["a", "b"]);
    }

    #[test]
    fn equality_ignores_names_left_from_earlier_buckets() {
        let mut a = OpenSightings::default();
        a.record(1, ip(1), 0, Some("old"));
        let list = a.take();
        a.close(list);
        a.record(1, ip(2), 5, Some("new"));
        let mut b = OpenSightings::default();
        b.record(1, ip(2), 5, Some("new"));
        assert_eq!(a, b);
        b.record(1, ip(2), 6, Some("other"));
        assert_ne!(a, b);
    }
}
