//! Compact containers for per-user state: millions of users each hold a handful of entries, so
//! hash-table slack, 16-byte keys for IPv4 and a name stored twice would dominate the model's size.
//! (A user's own lists are packed in `packed.rs`.)

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::net::IpKey;
use crate::FastMap;

/// The capacity a hash table holding `len` entries has when built afresh (hashbrown's policy, also
/// std's: power-of-two buckets, at most 7/8 full). Memory accounting counts this rather than
/// `capacity()`: after removals, when a table grows depends on where the per-process random hash
/// seeds left its tombstones, and eviction decisions (so the detector's output) must not.
pub(crate) fn table_capacity(len: usize) -> usize {
    match len {
        0 => 0,
        1..4 => 3,
        4..8 => 7,
        _ => (len * 8 / 7).next_power_of_two() / 8 * 7,
    }
}

/// Room a reused per-bucket list keeps whatever the bucket before used.
pub(crate) const KEPT_AFTER_BURST: usize = 1024;

/// Empties a per-bucket list that the next bucket reuses (so a steady stream allocates nothing for
/// it), giving back the room a burst left: more than four times what this bucket `used`. Returns
/// whether it shrank (maps alongside may follow).
pub(crate) fn clear_for_reuse<T>(list: &mut Vec<T>, used: usize) -> bool {
    list.clear();
    let shrink = list.capacity() > KEPT_AFTER_BURST.max(4 * used);
    if shrink {
        list.shrink_to(KEPT_AFTER_BURST.max(2 * used));
    }
    shrink
}

/// A key of a [`KeyIndex`]: names (short byte strings) compare without a call to `memcmp`.
pub trait IndexKey: Hash {
    /// Whether `self` equals `other`.
    fn same(&self, other: &Self) -> bool;
}

impl IndexKey for [u8] {
    #[inline]
    fn same(&self, other: &Self) -> bool {
        crate::ingest::same_bytes(self, other)
    }
}

impl IndexKey for str {
    #[inline]
    fn same(&self, other: &Self) -> bool {
        crate::ingest::same_bytes(self.as_bytes(), other.as_bytes())
    }
}

impl IndexKey for u32 {
    #[inline]
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

/// Key → id index over keys stored elsewhere, found through a `key_of(id)` the caller passes: the
/// user-name index holds 4 bytes per user instead of a second copy of every name, and the open
/// bucket's indexes hold positions into the lists that own their keys. Derived state: rebuilt
/// after a restore or an eviction.
#[derive(Clone, Default)]
pub struct KeyIndex {
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl KeyIndex {
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The id of `key`; `key_of` gives the key of an id.
    pub fn get<'a, Q: IndexKey + ?Sized + 'a>(&self, key: &Q, key_of: impl Fn(u32) -> &'a Q) -> Option<u32> {
        self.table.find(self.hash(key), |&id| key_of(id).same(key)).copied()
    }

    /// Adds `id` under `key`; the caller has checked that `key` is absent.
    pub fn insert<'a, Q: IndexKey + ?Sized + 'a>(&mut self, key: &Q, id: u32, key_of: &impl Fn(u32) -> &'a Q) {
        let hash = self.hash(key);
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, id, |&other| hasher.hash_one(key_of(other)));
    }

    /// The id of `key` (`Ok`), or `new_id` added under it (`Err`): one hash and one probe either
    /// way. `key_of` is asked only for ids already indexed.
    pub fn get_or_insert<'a, Q: IndexKey + ?Sized + 'a>(
        &mut self,
        key: &Q,
        new_id: u32,
        key_of: impl Fn(u32) -> &'a Q,
    ) -> Result<u32, u32> {
        let hash = self.hash(key);
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |&id| key_of(id).same(key),
            |&other| hasher.hash_one(key_of(other)),
        ) {
            hashbrown::hash_table::Entry::Occupied(found) => Ok(*found.get()),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(new_id);
                Err(new_id)
            }
        }
    }

    /// Rebuilds the index over ids `0..count`.
    pub fn rebuild<'a, Q: IndexKey + ?Sized + 'a>(&mut self, count: usize, key_of: impl Fn(u32) -> &'a Q) {
        self.table = HashTable::with_capacity(count);
        for id in 0..count as u32 {
            self.insert(key_of(id), id, &key_of);
        }
    }

    /// Ids indexed.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no id is indexed.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Forgets every id, keeping the table's capacity.
    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// Heap bytes held: a 4-byte id and a control byte per slot.
    pub fn heap_bytes(&self) -> usize {
        table_capacity(self.table.len()) * (std::mem::size_of::<u32>() + 1)
    }
}

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyIndex").field("len", &self.table.len()).finish()
    }
}

/// The index is derived from the histories it points into: two models with equal histories are
/// equal whatever their tables' layout (which depends on per-process hash seeds).
impl PartialEq for KeyIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A map keyed by address (or network) that keeps IPv4 keys in 4 bytes: most of an
/// organisation's addresses are IPv4, and a 16-byte key doubled the size of each entry.
///
/// Serialises exactly like a `HashMap<IpKey, V>` (a map of 16-byte keys), so snapshots do not change.
#[derive(Clone, Debug, PartialEq)]
pub struct IpMap<V> {
    v4: FastMap<u32, V>,
    v6: FastMap<IpKey, V>,
}

impl<V> Default for IpMap<V> {
    fn default() -> Self {
        IpMap {
            v4: FastMap::default(),
            v6: FastMap::default(),
        }
    }
}

/// The IPv4 address inside an IPv4-mapped key.
fn v4_of(key: &IpKey) -> Option<u32> {
    let (prefix, addr) = key.0.split_at(12);
    (prefix == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])
        .then(|| u32::from_be_bytes([addr[0], addr[1], addr[2], addr[3]]))
}

fn key_of_v4(addr: u32) -> IpKey {
    let mut k = [0u8; 16];
    k[10] = 0xff;
    k[11] = 0xff;
    k[12..].copy_from_slice(&addr.to_be_bytes());
    IpKey(k)
}

impl<V> IpMap<V> {
    /// The value for `key`.
    pub fn get(&self, key: &IpKey) -> Option<&V> {
        match v4_of(key) {
            Some(a) => self.v4.get(&a),
            None => self.v6.get(key),
        }
    }

    /// The value for `key`, mutably.
    pub fn get_mut(&mut self, key: &IpKey) -> Option<&mut V> {
        match v4_of(key) {
            Some(a) => self.v4.get_mut(&a),
            None => self.v6.get_mut(key),
        }
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &IpKey) -> bool {
        self.get(key).is_some()
    }

    /// The value for `key`, inserting `make()` first if absent.
    pub fn get_or_insert_with(&mut self, key: IpKey, make: impl FnOnce() -> V) -> &mut V {
        match v4_of(&key) {
            Some(a) => self.v4.entry(a).or_insert_with(make),
            None => self.v6.entry(key).or_insert_with(make),
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &IpKey) -> Option<V> {
        match v4_of(key) {
            Some(a) => self.v4.remove(&a),
            None => self.v6.remove(key),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every value, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.v4.values_mut().chain(self.v6.values_mut())
    }

    /// Keeps only the entries whose value passes `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.v4.retain(|_, v| keep(v));
        self.v6.retain(|_, v| keep(v));
    }

    /// Every entry, values mutably, keys as 16-byte keys (unordered).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (IpKey, &mut V)> {
        self.v4
            .iter_mut()
            .map(|(a, v)| (key_of_v4(*a), v))
            .chain(self.v6.iter_mut().map(|(k, v)| (*k, v)))
    }

    /// Every entry, keys as 16-byte keys (unordered).
    pub fn iter(&self) -> impl Iterator<Item = (IpKey, &V)> {
        self.v4
            .iter()
            .map(|(a, v)| (key_of_v4(*a), v))
            .chain(self.v6.iter().map(|(k, v)| (*k, v)))
    }

    /// Gives back spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.v4.shrink_to_fit();
        self.v6.shrink_to_fit();
    }

    /// Heap bytes held: each slot's key and value plus a control byte.
    pub fn heap_bytes(&self) -> usize {
        table_capacity(self.v4.len()) * (std::mem::size_of::<(u32, V)>() + 1)
            + table_capacity(self.v6.len()) * (std::mem::size_of::<(IpKey, V)>() + 1)
    }
}

impl<V: Serialize> Serialize for IpMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for IpMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let all = FastMap::<IpKey, V>::deserialize(deserializer)?;
        let mut map = IpMap::default();
        for (k, v) in all {
            match v4_of(&k) {
                Some(a) => map.v4.insert(a, v),
                None => map.v6.insert(k, v),
            };
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_capacity_is_what_a_fresh_table_has() {
        for len in [0, 1, 3, 4, 7, 8, 14, 15, 100, 1_000, 100_000] {
            let map: FastMap<u32, ()> = (0..len as u32).map(|k| (k, ())).collect();
            assert_eq!(table_capacity(len), map.capacity(), "{len}");
        }
    }

    #[test]
    fn ip_map_splits_families_and_encodes_like_a_hash_map() {
        let v4 = IpKey::from_ip("10.1.2.3".parse().expect("v4"));
        let v6 = IpKey::from_ip("2001:db8::1".parse().expect("v6"));
        let mut m: IpMap<u16> = IpMap::default();
        *m.get_or_insert_with(v4, || 0) += 1;
        *m.get_or_insert_with(v6, || 0) += 2;
        *m.get_or_insert_with(v4, || 0) += 1;
        assert_eq!((m.get(&v4), m.get(&v6), m.len()), (Some(&2), Some(&2), 2));
        assert_eq!((m.v4.len(), m.v6.len()), (1, 1));
        let mut only_v4: IpMap<u16> = IpMap::default();
        only_v4.get_or_insert_with(v4, || 7);
        let mut plain: FastMap<IpKey, u16> = FastMap::default();
        plain.insert(v4, 7);
        assert_eq!(
            postcard::to_allocvec(&only_v4).expect("encode"),
            postcard::to_allocvec(&plain).expect("encode map")
        );
        let back: IpMap<u16> = postcard::from_bytes(&postcard::to_allocvec(&m).expect("encode")).expect("decode");
        assert_eq!(back, m);
        assert_eq!(m.remove(&v6), Some(2));
        assert!(!m.contains_key(&v6));
    }

    #[test]
    fn name_index_finds_every_name_and_only_those() {
        let names: Vec<String> = (0..1000).map(|i| format!("user{i}")).collect();
        let mut idx = KeyIndex::default();
        for (i, n) in names.iter().enumerate() {
            idx.insert(n.as_str(), i as u32, &|id| names[id as usize].as_str());
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(idx.get(n.as_str(), |id| names[id as usize].as_str()), Some(i as u32));
        }
        assert_eq!(idx.get("nobody", |id| names[id as usize].as_str()), None);
        let mut rebuilt = KeyIndex::default();
        rebuilt.rebuild(names.len(), |id| names[id as usize].as_str());
        assert_eq!(rebuilt.get("user999", |id| names[id as usize].as_str()), Some(999));
    }
}
