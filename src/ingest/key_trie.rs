//! The key trie behind the JSON text fast paths (ECS in `ecs.rs`, winlogbeat in `windows.rs`):
//! one serde visitor that reads a document in one pass and keeps only the values of a few dotted
//! paths, whether they are written nested (`{"user":{"name":…}}`), dotted (`{"user.name":…}`) or
//! any mix of the two.
//!
//! The keys that can lead to a path form a small trie ([`KeyTrie`]): one node per dotted prefix
//! (`""`, `"user."`, `"winlog.event_data."`, …), and at each node every key that names a path's
//! whole remaining part ([`Entry::Target`]) or a dotted prefix of it whose value, if an object, is
//! read at a child node ([`Entry::Node`]). Keys are looked up among the entries of their own
//! length only (a bit set per node and length, built at compile time). Every value the visitor
//! does not keep is still validated as building a `serde_json::Value` would validate it ([`Skip`]).
//!
//! The visitor is shared; what it keeps is not: each fast path is a [`Collector`] that reads its
//! targets' values its own way (ECS keeps scalars and arrays with a [`Route`] to replicate
//! `lookup`'s precedence; winlogbeat reduces them to ids, times and texts and gives up on a second
//! candidate) and decides when to give up and let the `Value` reference answer.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// What a key means at a trie node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Entry {
    /// The whole remaining path of this target (an index into the collector's path list).
    Target(u8),
    /// A dotted prefix of remaining paths: continue in the value (if an object) at this node.
    Node(u8),
    /// A key the reference reads in a way the visitor does not replicate: give up.
    Unsure,
}

/// One trie node: the prefix its keys follow (documentation, and the completeness check), and
/// every key that matters there.
pub(crate) type TrieNode = (&'static str, &'static [(&'static str, Entry)]);

/// Key lengths with a bit set of their own; longer keys share the last slot.
const LONG: usize = 31;
/// Most keys a node holds: a bit each in the by-length sets and in the visitor's seen-set.
const MAX_KEYS: usize = 64;

/// What is computed once per node from its keys.
pub(crate) struct NodeIndex {
    /// Per key length (the last slot: every length from [`LONG`] on), the keys of that length as
    /// a bit set: a key is compared with one or two candidates, not with every key.
    by_length: [u64; LONG + 1],
    /// Per key, its slot in a [`Route`]: 0 for a target, `j` for a node key naming `j` segments.
    route_slots: [u8; MAX_KEYS],
}

/// A key trie: hand-written nodes (checked against their path list by [`assert_complete`]) and
/// their index. Build it in a `static` (a `const` indexed at run time may be copied to the stack
/// per use): `static TRIE: KeyTrie = KeyTrie { nodes: &NODES, index: &index(&NODES) };`
pub(crate) struct KeyTrie {
    pub(crate) nodes: &'static [TrieNode],
    pub(crate) index: &'static [NodeIndex],
}

/// The index of `nodes`, at compile time.
pub(crate) const fn index<const N: usize>(nodes: &[TrieNode; N]) -> [NodeIndex; N] {
    let mut table = [const {
        NodeIndex {
            by_length: [0; LONG + 1],
            route_slots: [0; MAX_KEYS],
        }
    }; N];
    let mut n = 0;
    while n < N {
        let entries = nodes[n].1;
        assert!(entries.len() <= MAX_KEYS, "a trie node holds at most 64 keys");
        let mut i = 0;
        while i < entries.len() {
            let (key, entry) = entries[i];
            let len = key.len();
            let slot = if len < LONG { len } else { LONG };
            table[n].by_length[slot] |= 1 << i;
            if let Entry::Node(_) = entry {
                let mut dots = 0;
                let mut b = 0;
                while b < len {
                    dots += (key.as_bytes()[b] == b'.') as u8;
                    b += 1;
                }
                table[n].route_slots[i] = dots + 1;
            }
            i += 1;
        }
        n += 1;
    }
    table
}

/// `lookup`'s preference among the places a target is found: the slots taken at each object
/// level, top level first, one 4-bit digit each (slot + 1; 0 past the last level), compared as a
/// number — smaller is preferred. Paths have at most 3 dots, so at most [`LEVELS`] levels.
pub(crate) type Route = u16;

/// Object levels a route has digits for; deeper objects are not entered.
const LEVELS: usize = 4;

fn route_digit(level: usize, slot: usize) -> Route {
    ((slot + 1) as Route) << (12 - 4 * level)
}

impl KeyTrie {
    /// The index of `key` among the entries of node `node`.
    #[inline]
    pub(crate) fn find(&self, node: usize, key: &[u8]) -> Option<usize> {
        let entries = self.nodes.get(node)?.1;
        let mut candidates = self.index.get(node)?.by_length[key.len().min(LONG)];
        while candidates != 0 {
            let i = candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            // Byte by byte: keys are short, and a call to `memcmp` per candidate costs more.
            let k = entries[i].0.as_bytes();
            if k.len() == key.len() && k.iter().zip(key).all(|(a, b)| a == b) {
                return Some(i);
            }
        }
        None
    }

    /// What key `index` (from [`KeyTrie::find`]) of node `node` means, and the route of its value:
    /// a target is slot 0, a key naming `j` segments of a path and holding an object is slot `j`.
    #[inline]
    pub(crate) fn step(&self, node: usize, index: usize, level: usize, route: Route) -> (Entry, Route) {
        let entry = self.nodes[node].1[index].1;
        let slot = self.index[node].route_slots[index];
        (entry, route | route_digit(level, usize::from(slot)))
    }
}

/// What a fast path keeps of a document: the values of its targets, reduced its own way.
pub(crate) trait Collector<'de> {
    /// The trie of the collector's paths.
    const TRIE: &'static KeyTrie;

    /// Reads the value of the key of target `target`, found at `route`, from `map`.
    fn read_target<A: MapAccess<'de>>(&mut self, map: &mut A, target: usize, route: Route) -> Result<(), A::Error>;

    /// The error that stops the parse where the visitor does not replicate the reference: a key
    /// of the trie twice in one object (a `Value` keeps the last), or an [`Entry::Unsure`] key.
    /// Notes why, so the caller can answer with the reference instead of `InvalidJson`.
    fn give_up<E: de::Error>(&mut self) -> E;

    /// A document that is not an object: `Ok(())` to validate it (the parse then answers
    /// `false`), or the error that stops the parse.
    fn not_an_object<E: de::Error>(&mut self) -> Result<(), E>;
}

/// Parses `text` into `collector`: `Ok(true)` for an object (its targets collected), `Ok(false)`
/// for any other valid document; an error for invalid JSON or where the collector gave up.
pub(crate) fn read_document<'de, C: Collector<'de>>(
    text: &'de str,
    collector: &mut C,
) -> Result<bool, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let is_object = DocSeed(collector).deserialize(&mut de)?;
    de.end()?;
    Ok(is_object)
}

/// Visits one object at trie node `node`, `level` objects deep, reached by `route`.
fn visit_object<'de, A: MapAccess<'de>, C: Collector<'de>>(
    mut map: A,
    collector: &mut C,
    node: usize,
    level: usize,
    route: Route,
) -> Result<(), A::Error> {
    // Keys of this object that matter, seen so far: a `Value` keeps the last of a repeated key,
    // which this one-pass visitor does not replicate.
    let mut seen = 0u64; // MAX_KEYS bits
    while let Some(key) = map.next_key_seed(KeySeed::<C> {
        node,
        collector: PhantomData,
    })? {
        let Some(index) = key else {
            map.next_value::<Skip>()?;
            continue;
        };
        if seen & (1 << index) != 0 {
            return Err(collector.give_up());
        }
        seen |= 1 << index;
        match C::TRIE.step(node, index, level, route) {
            (Entry::Target(target), route) => collector.read_target(&mut map, usize::from(target), route)?,
            (Entry::Node(child), route) if level + 1 < LEVELS => map.next_value_seed(NodeSeed {
                collector: &mut *collector,
                node: usize::from(child),
                level: level + 1,
                route,
            })?,
            (Entry::Node(_), _) => map.next_value::<Skip>().map(drop)?,
            (Entry::Unsure, _) => return Err(collector.give_up()),
        }
    }
    Ok(())
}

/// A key, matched against node `node`'s entries without copying it. Generic over the collector
/// so that each fast path gets its own copy, with its trie a constant in it (about 800
/// instructions a winlogbeat line fewer than with the trie in a field).
struct KeySeed<C> {
    node: usize,
    collector: PhantomData<fn() -> C>,
}

impl<'de, C: Collector<'de>> DeserializeSeed<'de> for KeySeed<C> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, C: Collector<'de>> Visitor<'de> for KeySeed<C> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(C::TRIE.find(self.node, key.as_bytes()))
    }
}

/// A node key's value: an object is visited at the child node; anything else holds no
/// candidate and is only validated.
struct NodeSeed<'a, C> {
    collector: &'a mut C,
    node: usize,
    level: usize,
    route: Route,
}

impl<'de, C: Collector<'de>> DeserializeSeed<'de> for NodeSeed<'_, C> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, C: Collector<'de>> Visitor<'de> for NodeSeed<'_, C> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        visit_object(map, self.collector, self.node, self.level, self.route)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        skip_seq(seq)
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The whole document: `true` for an object (visited at the root node), `false` for any other
/// value the collector lets through [`Collector::not_an_object`] (still fully validated).
struct DocSeed<'a, C>(&'a mut C);

impl<'de, C: Collector<'de>> DeserializeSeed<'de> for DocSeed<'_, C> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, C: Collector<'de>> Visitor<'de> for DocSeed<'_, C> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        visit_object(map, self.0, 0, 0, 0)?;
        Ok(true)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        self.0.not_an_object()?;
        skip_seq(seq)?;
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        self.0.not_an_object().map(|()| false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        self.0.not_an_object().map(|()| false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        self.0.not_an_object().map(|()| false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        self.0.not_an_object().map(|()| false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        self.0.not_an_object().map(|()| false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.0.not_an_object().map(|()| false)
    }
}

/// Any value, validated as building a `Value` would validate it (unlike `IgnoredAny`, which
/// accepts lone surrogate escapes and out-of-range numbers), and dropped.
pub(crate) struct Skip;

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

/// The rest of an object, validated and dropped.
pub(crate) fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_key::<Skip>()?.is_some() {
        map.next_value::<Skip>()?;
    }
    Ok(())
}

/// The rest of an array, validated and dropped.
pub(crate) fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Skip>()?.is_some() {}
    Ok(())
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Skip, A::Error> {
        skip_map(map).map(|()| Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Skip, A::Error> {
        skip_seq(seq).map(|()| Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
}

/// Checks a hand-written trie against the paths it stands for: one node per dotted prefix of a
/// path (and the root), and at each node every remaining path (a target) and every dotted prefix
/// of one (a child node), nothing else but the `unsure` keys (full dotted keys, in node order).
#[cfg(test)]
pub(crate) fn assert_complete(trie: &KeyTrie, paths: &[&str], unsure: &[&str]) {
    let nodes = trie.nodes;
    assert_eq!(nodes.len(), trie.index.len());
    let mut prefixes = vec![String::new()];
    for p in paths {
        for (i, c) in p.char_indices() {
            if c == '.' {
                prefixes.push(p[..=i].to_string());
            }
        }
    }
    prefixes.sort();
    prefixes.dedup();
    let mut listed: Vec<&str> = nodes.iter().map(|n| n.0).collect();
    listed.sort();
    assert_eq!(prefixes, listed);
    let mut unsure_found = Vec::new();
    for &(prefix, entries) in nodes {
        let mut want: Vec<(String, Entry)> = Vec::new();
        for (target, p) in paths.iter().enumerate() {
            let Some(rest) = p.strip_prefix(prefix) else {
                continue;
            };
            want.push((rest.to_string(), Entry::Target(target as u8)));
            for (i, c) in rest.char_indices() {
                if c == '.' {
                    let child = format!("{prefix}{}", &rest[..=i]);
                    let n = nodes.iter().position(|n| n.0 == child).expect("child node listed");
                    want.push((rest[..i].to_string(), Entry::Node(n as u8)));
                }
            }
        }
        want.sort_by(|a, b| a.0.cmp(&b.0));
        want.dedup();
        let mut have: Vec<(String, Entry)> = Vec::new();
        for (k, e) in entries {
            if *e == Entry::Unsure {
                unsure_found.push(format!("{prefix}{k}"));
            } else {
                have.push((k.to_string(), *e));
            }
        }
        have.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(have, want, "node {prefix:?}");
        // One meaning per key, and a seen-set of 64 bits is enough.
        let mut keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        keys.sort();
        assert!(keys.windows(2).all(|w| w[0] != w[1]), "node {prefix:?}");
        assert!(entries.len() <= MAX_KEYS, "node {prefix:?}");
        // `find` answers every key of the node with its own index.
        for (i, (k, _)) in entries.iter().enumerate() {
            let node = nodes.iter().position(|n| n.0 == prefix).expect("node listed");
            assert_eq!(trie.find(node, k.as_bytes()), Some(i), "{prefix}{k}");
        }
    }
    assert_eq!(unsure_found, unsure);
    // At most `LEVELS` levels: a route has a digit per level.
    assert!(paths.iter().all(|p| p.matches('.').count() < LEVELS));
}
