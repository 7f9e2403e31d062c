//! A user's name, addresses, subnets and sites in one allocation, IPv4 keys narrow.
//!
//! Millions of users each hold a handful of entries: four allocations per user (the name and three
//! lists) cost a fat pointer each plus the allocator's per-chunk overhead, and a 16-byte key spends
//! 12 bytes on the IPv4-mapped prefix. Here one boxed byte string holds, in order:
//! - a 7-byte header: the three list lengths (u16 each: `max_addresses_per_user` is at most
//!   65 535, and learning clamps to [`MAX_ENTRIES`]) and one bit per list saying whether its keys
//!   are stored wide;
//! - the name's length (one byte; 255 and a u32 for longer names) and the name: first, so that
//!   reading it (the name index, the bucket's sort by name) takes no arithmetic over the lists;
//! - the addresses, then the subnets, then the sites: per list, all its keys (contiguous, so that a
//!   lookup scans packed integers), then all its entries' other fields, fixed size per list.
//!
//! A list's keys are narrow when every key in it is IPv4 (4 bytes for an address, 3 for a /24, 2
//! for a /16: the host bits of a network are zero), otherwise all 16 bytes wide. The lists keep
//! their order exactly (snapshots and the Elastic profile's sums depend on it), so a user with
//! both families simply pays the wide form for that list. Records are decoded into
//! [`AddressHistory`] / [`NetworkHistory`] values to read them. Known entries are updated in
//! place (a bucket of known addresses, the usual one, decodes and allocates nothing); adding or
//! removing entries edits them as decoded [`Lists`] that are encoded back (in place when the
//! layout is unchanged, else into one new allocation of exactly the size needed).

use super::rare_ip::{AddressHistory, NetworkHistory};
use crate::net::{IpKey, NetLevel};

/// Most entries a list can hold (its length is stored in a u16).
pub const MAX_ENTRIES: usize = u16::MAX as usize;

/// The IPv4-mapped prefix of an IPv4 key.
const V4_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// Header bytes: three u16 lengths and the wide-key bits.
const HEADER: usize = 7;
/// The name's length byte that says a u32 length follows (names of 255 bytes or more).
const LONG_NAME: u8 = u8::MAX;

/// One of the three lists in a user's record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    Addresses,
    Subnets,
    Sites,
}

impl Section {
    const ALL: [Section; 3] = [Section::Addresses, Section::Subnets, Section::Sites];

    fn index(self) -> usize {
        self as usize
    }

    /// Key bytes of an IPv4 entry: the address, or the network bits only.
    fn narrow_key(self) -> usize {
        match self {
            Section::Addresses => 4,
            Section::Subnets => 3,
            Section::Sites => 2,
        }
    }

    /// Record bytes after the key.
    fn fields(self) -> usize {
        match self {
            // first_bucket, last_bucket, days_seen, buckets_seen, concentration
            Section::Addresses => 4 + 4 + 2 + 4 + 4,
            // last_bucket, days_seen
            Section::Subnets | Section::Sites => 4 + 2,
        }
    }

    /// The narrow form of `key` if it has one (IPv4-mapped, with zeros past the narrow bytes),
    /// as the little-endian u32 of its bytes padded with zeros: integer arithmetic, no copies of
    /// run-time length.
    #[inline]
    fn narrow_of(self, key: &IpKey) -> Option<u32> {
        let k = u128::from_be_bytes(key.0);
        let v4 = k as u32;
        let host_bits = 32 - 8 * self.narrow_key() as u32;
        let host = v4.checked_shl(32 - host_bits).unwrap_or(0);
        (k >> 32 == 0xffff && host == 0).then_some(v4.swap_bytes())
    }
}

/// A key as a list stores it: narrow (see [`Section::narrow_of`]) or all 16 bytes (little-endian,
/// as [`PackedUser::find_in`] compares them).
#[derive(Clone, Copy)]
enum StoredKey {
    Narrow(u32),
    Wide(u128),
}

/// A user's lists decoded, to be edited and encoded back with [`PackedUser::encode`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lists {
    /// Addresses, in the user's order.
    pub addresses: Vec<AddressHistory>,
    /// /24 (v6 /64) networks.
    pub subnets: Vec<NetworkHistory>,
    /// /16 (v6 /48) networks.
    pub sites: Vec<NetworkHistory>,
}

impl Lists {
    /// Empties the lists, keeping their capacity.
    pub fn clear(&mut self) {
        self.addresses.clear();
        self.subnets.clear();
        self.sites.clear();
    }
}

// One range check per read (indexing byte by byte checks each byte). Records are cut to size by
// the layout, so the fallback never happens.
#[inline]
fn u16_at(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => u32::from_le_bytes([w, x, y, z]),
        _ => 0,
    }
}

/// The 16-byte key of a stored key (narrow or wide); fixed-size copies (a copy of run-time
/// length calls memcpy).
#[inline]
fn key_of(stored: &[u8]) -> IpKey {
    let v4 = |a: [u8; 4]| {
        let mut k = [0u8; 16];
        k[..12].copy_from_slice(&V4_PREFIX);
        k[12..].copy_from_slice(&a);
        IpKey(k)
    };
    match *stored {
        [a, b, c, d] => v4([a, b, c, d]),
        [a, b, c] => v4([a, b, c, 0]),
        [a, b] => v4([a, b, 0, 0]),
        _ => IpKey(<[u8; 16]>::try_from(stored).unwrap_or_default()),
    }
}

/// Offset of an address's concentration in its fields.
const CONCENTRATION: usize = 14;

/// Where one list is: `n` keys of `key` bytes from `at`, then `n` fields of `fields` bytes.
#[derive(Clone, Copy)]
struct Columns {
    n: usize,
    key: usize,
    fields: usize,
    at: usize,
}

impl Columns {
    fn keys(self) -> std::ops::Range<usize> {
        self.at..self.at + self.n * self.key
    }

    fn all_fields(self) -> std::ops::Range<usize> {
        let start = self.keys().end;
        start..start + self.n * self.fields
    }

    fn end(self) -> usize {
        self.all_fields().end
    }

    fn key_of(self, i: usize) -> std::ops::Range<usize> {
        let start = self.at + i * self.key;
        start..start + self.key
    }

    fn fields_of(self, i: usize) -> std::ops::Range<usize> {
        let start = self.keys().end + i * self.fields;
        start..start + self.fields
    }
}

/// A list's (key, fields) pairs.
type Rows<'a> = std::iter::Zip<std::slice::ChunksExact<'a, u8>, std::slice::ChunksExact<'a, u8>>;

/// A user's name and lists in one boxed byte string (see the module documentation).
#[derive(Clone, PartialEq, Eq)]
pub struct PackedUser(Box<[u8]>);

impl PackedUser {
    /// A user with empty lists.
    pub fn new(name: &str) -> Self {
        let short = u8::try_from(name.len()).ok().filter(|&n| n < LONG_NAME);
        // Exactly the size needed: `into_boxed_slice` then keeps the allocation as it is.
        let mut b = Vec::with_capacity(HEADER + if short.is_some() { 1 } else { 5 } + name.len());
        b.extend_from_slice(&[0; HEADER]);
        match short {
            Some(n) => b.push(n),
            // Lines are at most 64 MiB, so a name's length fits in 32 bits.
            None => {
                b.push(LONG_NAME);
                b.extend_from_slice(&(name.len() as u32).to_le_bytes());
            }
        }
        b.extend_from_slice(name.as_bytes());
        PackedUser(b.into_boxed_slice())
    }

    /// A user with `name` and `lists`.
    pub fn with_lists(name: &str, lists: &Lists) -> Self {
        let mut p = PackedUser::new(name);
        p.encode(lists);
        p
    }

    /// Where the name is: after the header and its length (one byte, or 255 and four bytes).
    #[inline]
    fn name_range(&self) -> std::ops::Range<usize> {
        match self.0.get(HEADER) {
            Some(&LONG_NAME) => {
                let start = HEADER + 5;
                start..start + u32_at(&self.0, HEADER + 1) as usize
            }
            Some(&short) => HEADER + 1..HEADER + 1 + short as usize,
            None => HEADER..HEADER,
        }
    }

    /// Where the three lists' keys and fields are, from the header read once.
    #[inline]
    fn layout(&self) -> [Columns; 3] {
        // Header and the name's length byte (every record has both).
        let mut h = [0u8; HEADER + 1];
        if let Some(header) = self.0.get(..HEADER + 1) {
            h.copy_from_slice(header);
        }
        let name_end = if h[HEADER] == LONG_NAME {
            HEADER + 5 + u32_at(&self.0, HEADER + 1) as usize
        } else {
            HEADER + 1 + h[HEADER] as usize
        };
        let list = |s: Section, at: usize| {
            let i = s.index();
            Columns {
                n: u16::from_le_bytes([h[2 * i], h[2 * i + 1]]) as usize,
                key: if h[6] & (1 << i) != 0 { 16 } else { s.narrow_key() },
                fields: s.fields(),
                at,
            }
        };
        let addresses = list(Section::Addresses, name_end);
        let subnets = list(Section::Subnets, addresses.end());
        let sites = list(Section::Sites, subnets.end());
        [addresses, subnets, sites]
    }

    /// Where list `s`'s keys and fields are.
    #[inline]
    fn columns(&self, s: Section) -> Columns {
        self.layout()[s.index()]
    }

    /// List `s`'s (key, fields) pairs, in order.
    #[inline]
    fn rows(&self, s: Section) -> Rows<'_> {
        let c = self.columns(s);
        let keys = self.0[c.keys()].chunks_exact(c.key);
        keys.zip(self.0[c.all_fields()].chunks_exact(c.fields))
    }

    /// The name's bytes (valid UTF-8: only [`Self::new`] writes them, from a `&str`).
    #[inline]
    pub fn name_bytes(&self) -> &[u8] {
        &self.0[self.name_range()]
    }

    /// The name.
    pub fn name(&self) -> &str {
        std::str::from_utf8(self.name_bytes()).unwrap_or_default()
    }

    /// Number of addresses.
    pub fn address_count(&self) -> usize {
        self.columns(Section::Addresses).n
    }

    /// The addresses, in order.
    pub fn addresses(&self) -> impl ExactSizeIterator<Item = AddressHistory> + Clone + '_ {
        self.rows(Section::Addresses).map(|(k, f)| decode_address(k, f))
    }

    /// The /16 (v6 /48) networks if `site`, else the /24 (v6 /64) ones, in order.
    pub fn networks(&self, site: bool) -> impl ExactSizeIterator<Item = NetworkHistory> + Clone + '_ {
        let s = if site { Section::Sites } else { Section::Subnets };
        self.rows(s).map(|(k, f)| decode_network(k, f))
    }

    /// The /24 (v6 /64) networks, in order.
    pub fn subnets(&self) -> impl ExactSizeIterator<Item = NetworkHistory> + Clone + '_ {
        self.networks(false)
    }

    /// The /16 (v6 /48) networks, in order.
    pub fn sites(&self) -> impl ExactSizeIterator<Item = NetworkHistory> + Clone + '_ {
        self.networks(true)
    }

    /// The position in list `s` (at `c`) of `key`, compared in stored form: the keys are
    /// contiguous, so this is a scan of 4-byte (IPv4 address), 3-, 2- or 16-byte integers.
    #[inline]
    fn find_in(&self, c: Columns, s: Section, key: &IpKey) -> Option<usize> {
        let want = if c.key == 16 {
            StoredKey::Wide(u128::from_le_bytes(key.0))
        } else {
            StoredKey::Narrow(s.narrow_of(key)?)
        };
        self.scan(c, s, want)
    }

    /// The position in list `s` (at `c`) of a key already in the list's stored form.
    #[inline]
    fn scan(&self, c: Columns, s: Section, want: StoredKey) -> Option<usize> {
        let keys = &self.0[c.keys()];
        match want {
            StoredKey::Wide(want) => keys.chunks_exact(16).position(|k| {
                let mut b = [0u8; 16];
                b.copy_from_slice(k);
                u128::from_le_bytes(b) == want
            }),
            StoredKey::Narrow(want) => match s {
                Section::Addresses => keys.chunks_exact(4).position(|k| u32_at(k, 0) == want),
                Section::Subnets => keys
                    .chunks_exact(3)
                    .position(|k| matches!(*k, [a, b, c] if u32::from_le_bytes([a, b, c, 0]) == want)),
                Section::Sites => keys.chunks_exact(2).position(|k| u32::from(u16_at(k, 0)) == want),
            },
        }
    }

    /// The position in list `s` of `key`.
    #[inline]
    fn find(&self, s: Section, key: &IpKey) -> Option<usize> {
        self.find_in(self.columns(s), s, key)
    }

    /// If the user holds address `ip` and its /24 (v6 /64) and /16 (v6 /48) networks, edits the
    /// three in place (keys stay) and says so; otherwise changes nothing. A bucket of known
    /// addresses (the usual one) is learnt this way, without decoding the lists.
    pub fn update_known(
        &mut self,
        ip: &IpKey,
        edit_address: impl FnOnce(&mut AddressHistory),
        mut edit_network: impl FnMut(&mut NetworkHistory),
    ) -> bool {
        let [a, n, s] = self.layout();
        // In narrow lists the networks of an IPv4 address are its first three and two bytes;
        // only a wide list needs a network's 16-byte key.
        let v4 = Section::Addresses.narrow_of(ip);
        // `level`: the network's, or `None` for the address itself.
        let stored = |c: Columns, level: Option<NetLevel>, first_bytes: u32| {
            if c.key == 16 {
                let wide = level.map_or(*ip, |level| ip.network(level));
                Some(StoredKey::Wide(u128::from_le_bytes(wide.0)))
            } else {
                v4.map(|x| StoredKey::Narrow(x & first_bytes))
            }
        };
        let found = |c: Columns, section: Section, key: Option<StoredKey>| key.and_then(|k| self.scan(c, section, k));
        let Some(ai) = found(a, Section::Addresses, stored(a, None, u32::MAX)) else {
            return false;
        };
        let Some(ni) = found(n, Section::Subnets, stored(n, Some(NetLevel::Subnet), 0x00ff_ffff)) else {
            return false;
        };
        let Some(si) = found(s, Section::Sites, stored(s, Some(NetLevel::Site), 0x0000_ffff)) else {
            return false;
        };
        // Each record's fields read and written through one range.
        let fields = a.fields_of(ai);
        let mut address = decode_address(&self.0[a.key_of(ai)], &self.0[fields.clone()]);
        edit_address(&mut address);
        write_address_fields(&mut self.0[fields], &address);
        for (c, i) in [(n, ni), (s, si)] {
            let fields = c.fields_of(i);
            let mut net = decode_network(&self.0[c.key_of(i)], &self.0[fields.clone()]);
            edit_network(&mut net);
            write_network_fields(&mut self.0[fields], &net);
        }
        true
    }

    /// Every address's concentration, in order, and the position of `ip` among them (reads only
    /// those fields).
    pub fn concentrations(&self, ip: &IpKey) -> (impl ExactSizeIterator<Item = f32> + '_, Option<usize>) {
        let c = self.columns(Section::Addresses);
        let values = self.0[c.all_fields()]
            .chunks_exact(c.fields)
            .map(|f| f32::from_bits(u32_at(f, CONCENTRATION)));
        (values, self.find(Section::Addresses, ip))
    }

    /// Multiplies every address's concentration by `factor`, in order, in place.
    pub fn scale_concentrations(&mut self, factor: f32) {
        let c = self.columns(Section::Addresses);
        for f in self.0[c.all_fields()].chunks_exact_mut(c.fields) {
            let v = f32::from_bits(u32_at(f, CONCENTRATION)) * factor;
            f[CONCENTRATION..CONCENTRATION + 4].copy_from_slice(&v.to_bits().to_le_bytes());
        }
    }

    /// Whether every entry of every list was seen at or after `bucket` (reads only that field).
    pub fn all_seen_since(&self, bucket: i32) -> bool {
        Section::ALL.into_iter().all(|s| {
            let c = self.columns(s);
            let at = if s == Section::Addresses { 4 } else { 0 };
            self.0[c.all_fields()]
                .chunks_exact(c.fields)
                .all(|f| u32_at(f, at) as i32 >= bucket)
        })
    }

    /// The history of address `ip`.
    pub fn address(&self, ip: &IpKey) -> Option<AddressHistory> {
        let s = Section::Addresses;
        let c = self.columns(s);
        let i = self.find_in(c, s, ip)?;
        Some(decode_address(&self.0[c.key_of(i)], &self.0[c.fields_of(i)]))
    }

    /// The history of subnet (`site` false) or site network `net`.
    pub fn network(&self, site: bool, net: &IpKey) -> Option<NetworkHistory> {
        let s = if site { Section::Sites } else { Section::Subnets };
        let c = self.columns(s);
        let i = self.find_in(c, s, net)?;
        Some(decode_network(&self.0[c.key_of(i)], &self.0[c.fields_of(i)]))
    }

    /// Decodes every list into `out` (cleared first; its capacity is reused).
    pub fn decode_into(&self, out: &mut Lists) {
        out.clear();
        out.addresses.extend(self.addresses());
        out.subnets.extend(self.subnets());
        out.sites.extend(self.sites());
    }

    /// Stores `lists` (each at most [`MAX_ENTRIES`] long; any excess is not stored), keeping the
    /// name: in place when the lengths and key widths are unchanged, else in one new allocation
    /// of exactly the size needed.
    pub fn encode(&mut self, lists: &Lists) {
        let counts = [
            lists.addresses.len().min(MAX_ENTRIES),
            lists.subnets.len().min(MAX_ENTRIES),
            lists.sites.len().min(MAX_ENTRIES),
        ];
        let wide = [
            lists.addresses[..counts[0]]
                .iter()
                .any(|a| Section::Addresses.narrow_of(&a.ip).is_none()),
            lists.subnets[..counts[1]]
                .iter()
                .any(|n| Section::Subnets.narrow_of(&n.net).is_none()),
            lists.sites[..counts[2]]
                .iter()
                .any(|n| Section::Sites.narrow_of(&n.net).is_none()),
        ];
        let mut header = [0u8; HEADER];
        for (i, c) in counts.iter().enumerate() {
            header[2 * i..2 * i + 2].copy_from_slice(&(*c as u16).to_le_bytes());
            header[6] |= u8::from(wide[i]) << i;
        }
        let mut records = 0;
        for (i, s) in Section::ALL.into_iter().enumerate() {
            let k = if wide[i] { 16 } else { s.narrow_key() };
            records += counts[i] * (k + s.fields());
        }
        // The name and its length stay as they are.
        let first = self.name_range().end;
        if self.0[..HEADER] == header {
            // Same layout: overwrite the records in place.
            write_records(&mut self.0[first..first + records], lists, counts, wide);
            return;
        }
        let mut b = vec![0u8; first + records];
        b[..HEADER].copy_from_slice(&header);
        b[HEADER..first].copy_from_slice(&self.0[HEADER..first]);
        write_records(&mut b[first..], lists, counts, wide);
        self.0 = b.into_boxed_slice();
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

/// Writes the lists into `out`, which is exactly their size: per list, its keys, then its fields.
fn write_records(out: &mut [u8], lists: &Lists, counts: [usize; 3], wide: [bool; 3]) {
    let key = |s: Section, wide: bool, k: &IpKey, out: &mut [u8]| {
        if wide {
            out.copy_from_slice(&k.0);
        } else {
            out.copy_from_slice(&k.0[12..12 + s.narrow_key()]);
        }
    };
    let mut at = 0;
    let s = Section::Addresses;
    let k = if wide[0] { 16 } else { s.narrow_key() };
    let list = &lists.addresses[..counts[0]];
    for a in list {
        key(s, wide[0], &a.ip, &mut out[at..at + k]);
        at += k;
    }
    for a in list {
        write_address_fields(&mut out[at..at + s.fields()], a);
        at += s.fields();
    }
    for (i, (s, list)) in [(Section::Subnets, &lists.subnets), (Section::Sites, &lists.sites)]
        .into_iter()
        .enumerate()
    {
        let w = wide[i + 1];
        let k = if w { 16 } else { s.narrow_key() };
        let list = &list[..counts[i + 1]];
        for n in list {
            key(s, w, &n.net, &mut out[at..at + k]);
            at += k;
        }
        for n in list {
            write_network_fields(&mut out[at..at + s.fields()], n);
            at += s.fields();
        }
    }
}

/// Writes an address record's fields after its key (`r` is exactly their 18 bytes).
fn write_address_fields(r: &mut [u8], a: &AddressHistory) {
    r[0..4].copy_from_slice(&a.first_bucket.to_le_bytes());
    r[4..8].copy_from_slice(&a.last_bucket.to_le_bytes());
    r[8..10].copy_from_slice(&a.days_seen.to_le_bytes());
    r[10..14].copy_from_slice(&a.buckets_seen.to_le_bytes());
    r[14..18].copy_from_slice(&a.concentration.to_bits().to_le_bytes());
}

/// Writes a network record's fields after its key (`r` is exactly their 6 bytes).
fn write_network_fields(r: &mut [u8], n: &NetworkHistory) {
    r[0..4].copy_from_slice(&n.last_bucket.to_le_bytes());
    r[4..6].copy_from_slice(&n.days_seen.to_le_bytes());
}

#[inline]
fn decode_address(key: &[u8], fields: &[u8]) -> AddressHistory {
    // A fixed-size copy: the field reads below need no range checks.
    let f: [u8; 18] = fields.try_into().unwrap_or([0; 18]);
    let w = |i: usize| u32::from_le_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
    AddressHistory {
        ip: key_of(key),
        first_bucket: w(0) as i32,
        last_bucket: w(4) as i32,
        days_seen: u16::from_le_bytes([f[8], f[9]]),
        buckets_seen: w(10),
        concentration: f32::from_bits(w(CONCENTRATION)),
    }
}

#[inline]
fn decode_network(key: &[u8], fields: &[u8]) -> NetworkHistory {
    let f: [u8; 6] = fields.try_into().unwrap_or([0; 6]);
    NetworkHistory {
        net: key_of(key),
        last_bucket: i32::from_le_bytes([f[0], f[1], f[2], f[3]]),
        days_seen: u16::from_le_bytes([f[4], f[5]]),
    }
}

impl std::fmt::Debug for PackedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedUser")
            .field("name", &self.name())
            .field("addresses", &self.addresses().collect::<Vec<_>>())
            .field("subnets", &self.subnets().collect::<Vec<_>>())
            .field("sites", &self.sites().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> IpKey {
        IpKey::from_ip(text.parse().expect("address"))
    }

    fn address(ip: &str, n: i32) -> AddressHistory {
        AddressHistory {
            ip: key(ip),
            first_bucket: -n,
            last_bucket: n,
            days_seen: n as u16,
            buckets_seen: 3 * n as u32,
            concentration: n as f32 / 3.0,
        }
    }

    fn network(ip: &str, site: bool, n: i32) -> NetworkHistory {
        let level = if site {
            crate::net::NetLevel::Site
        } else {
            crate::net::NetLevel::Subnet
        };
        NetworkHistory {
            net: key(ip).network(level),
            last_bucket: n,
            days_seen: n as u16,
        }
    }

    #[test]
    fn ipv4_lists_are_narrow_and_one_allocation() {
        let lists = Lists {
            addresses: vec![address("10.1.2.3", 1), address("10.1.2.4", 2), address("10.1.2.5", 3)],
            subnets: vec![network("10.1.2.3", false, 4)],
            sites: vec![network("10.1.2.3", true, 5)],
        };
        let p = PackedUser::with_lists("user00000001", &lists);
        assert_eq!(p.heap_bytes(), HEADER + 1 + 12 + 3 * 22 + 9 + 8);
        assert_eq!(p.name(), "user00000001");
        let mut back = Lists::default();
        p.decode_into(&mut back);
        assert_eq!(back, lists);
        assert_eq!(p.address(&key("10.1.2.4")), Some(lists.addresses[1]));
        assert_eq!(p.address(&key("10.1.2.6")), None);
        assert_eq!(p.address(&key("2001:db8::1")), None);
        assert_eq!(p.network(true, &lists.sites[0].net), Some(lists.sites[0]));
        assert_eq!(p.network(false, &key("10.1.2.3")), None, "host bits set: not the /24");
    }

    #[test]
    fn a_list_with_ipv6_is_wide_and_keeps_its_order() {
        let lists = Lists {
            addresses: vec![
                address("10.0.0.1", 1),
                address("2001:db8::1", 2),
                address("10.0.0.2", 3),
            ],
            subnets: vec![network("10.0.0.1", false, 4)],
            sites: vec![network("2001:db8::1", true, 5), network("10.0.0.1", true, 6)],
        };
        let p = PackedUser::with_lists("bob", &lists);
        assert_eq!(p.heap_bytes(), HEADER + 1 + 3 + 3 * 34 + 9 + 2 * 22);
        assert_eq!(p.addresses().collect::<Vec<_>>(), lists.addresses);
        assert_eq!(p.sites().collect::<Vec<_>>(), lists.sites);
        assert_eq!(p.address(&key("10.0.0.2")), Some(lists.addresses[2]));
        assert_eq!(p.address(&key("2001:db8::1")), Some(lists.addresses[1]));
        assert_eq!(p.network(true, &lists.sites[1].net), Some(lists.sites[1]));
    }

    #[test]
    fn an_update_of_the_same_shape_is_written_in_place() {
        let mut lists = Lists {
            addresses: vec![address("10.0.0.1", 1)],
            subnets: vec![network("10.0.0.1", false, 1)],
            sites: vec![network("10.0.0.1", true, 1)],
        };
        let mut p = PackedUser::with_lists("carol", &lists);
        let before = p.0.as_ptr();
        lists.addresses[0].days_seen = 9;
        lists.sites[0].last_bucket = 77;
        p.encode(&lists);
        assert_eq!(p.0.as_ptr(), before);
        assert_eq!(p.addresses().next(), Some(lists.addresses[0]));
        assert_eq!(p.sites().next(), Some(lists.sites[0]));
        assert_eq!(p.name(), "carol");
        lists.addresses.push(address("2001:db8::1", 2));
        p.encode(&lists);
        assert_eq!(p.addresses().collect::<Vec<_>>(), lists.addresses);
        assert_eq!(p.name(), "carol");
        lists.clear();
        p.encode(&lists);
        assert_eq!((p.heap_bytes(), p.name()), (HEADER + 1 + 5, "carol"));
    }

    #[test]
    fn a_known_update_finds_what_a_look_up_of_each_network_finds() {
        // The lists in every mix of narrow and wide keys.
        let v4 = ["10.1.2.3", "10.1.9.9", "192.168.0.1"];
        let v6 = ["2001:db8:1:2::3", "2001:db8:1:9::9"];
        let mut shapes = Vec::new();
        for addresses in [&v4[..], &v6[..], &["10.1.2.3", "2001:db8:1:2::3"][..]] {
            for subnets in [
                &v4[..],
                &v6[..],
                &["2001:db8:1:2::3", "10.1.2.3"][..],
                &["10.1.9.9"][..],
            ] {
                for sites in [
                    &v4[..],
                    &v6[..],
                    &["192.168.0.1", "2001:db8:1:9::9"][..],
                    &["10.1.2.3"][..],
                ] {
                    shapes.push(Lists {
                        addresses: addresses.iter().map(|ip| address(ip, 2)).collect(),
                        subnets: subnets.iter().map(|ip| network(ip, false, 2)).collect(),
                        sites: sites.iter().map(|ip| network(ip, true, 2)).collect(),
                    });
                }
            }
        }
        let probes = [
            "10.1.2.3",
            "10.1.2.4",
            "10.1.9.9",
            "10.2.2.3",
            "192.168.0.1",
            "2001:db8:1:2::3",
            "2001:db8:1:9::9",
            "::1",
        ];
        for lists in &shapes {
            for probe in probes {
                let ip = key(probe);
                let mut p = PackedUser::with_lists("u", lists);
                // The earlier form: each of the three looked up by its own 16-byte key.
                let (subnet, site) = (ip.network(NetLevel::Subnet), ip.network(NetLevel::Site));
                let held = p.find(Section::Addresses, &ip).is_some()
                    && p.find(Section::Subnets, &subnet).is_some()
                    && p.find(Section::Sites, &site).is_some();
                let updated = p.update_known(&ip, |a| a.days_seen += 1, |n| n.days_seen += 10);
                assert_eq!(updated, held, "{probe} in {lists:?}");
                let mut want = lists.clone();
                // The first entry of each (a list may hold a network twice here).
                if held {
                    if let Some(a) = want.addresses.iter_mut().find(|a| a.ip == ip) {
                        a.days_seen += 1;
                    }
                    if let Some(n) = want.subnets.iter_mut().find(|n| n.net == subnet) {
                        n.days_seen += 10;
                    }
                    if let Some(n) = want.sites.iter_mut().find(|n| n.net == site) {
                        n.days_seen += 10;
                    }
                }
                let mut back = Lists::default();
                p.decode_into(&mut back);
                assert_eq!(back, want, "{probe}");
            }
        }
    }

    #[test]
    fn long_and_empty_names() {
        let lists = Lists {
            addresses: vec![address("10.0.0.1", 1)],
            subnets: vec![network("10.0.0.1", false, 1)],
            sites: vec![network("10.0.0.1", true, 1)],
        };
        for len in [0, 1, 254, 255, 256, 70_000] {
            let name: String = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let mut p = PackedUser::new(&name);
            assert_eq!(p.name(), name);
            p.encode(&lists);
            assert_eq!(p.name(), name);
            assert_eq!(p.addresses().collect::<Vec<_>>(), lists.addresses);
            assert_eq!(p.sites().collect::<Vec<_>>(), lists.sites);
            let extra = if name.len() < 255 { 1 } else { 5 };
            assert_eq!(p.heap_bytes(), HEADER + extra + name.len() + 22 + 9 + 8);
        }
    }
}
