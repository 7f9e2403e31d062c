//! One small in-place sort for the crate's own lists.
//!
//! The standard library's sorts are fast but large: each instantiation (element type × comparator)
//! is 5–10 KB of code, and the fifteen the crate had came to 154 KB of the 876 KB of code in the
//! `.wasm` (after `wasm-opt -Oz`). Everything sorted here is short (a bucket's sightings or
//! logons, a user's few addresses, a handful of concentrations) or sorted rarely (eviction cuts),
//! so a heapsort (with Floyd's sift-down, about as few comparisons as the standard sort) does: in place, O(n log n) in the worst case, no allocation, and a few hundred
//! bytes of code per element type (the comparator is a `dyn FnMut`, so it does not multiply the
//! instantiations).
//!
//! Heapsort is not stable. Every caller sorts by a total order on distinct elements (keys are
//! unique, or ties are equal values), for which stable and unstable sorts give the same order.

use std::cmp::Ordering;

/// Sorts `v` by `compare` (a total order), like `sort_unstable_by`.
pub(crate) fn sort_by<T>(v: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    heapsort(v, &mut |a, b| compare(a, b) == Ordering::Less);
}

/// Sorts `v` ascending, like `sort_unstable`.
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    heapsort(v, &mut |a, b| a < b);
}

/// Longest list [`sort_short_by`] sorts by insertion (~n²/4 comparisons, but each one inlined and
/// a move of one element, against heapsort's ~n log n calls through `dyn` and swaps).
const INSERTION_MAX: usize = 64;

/// Sorts `v` by `less` (a strict total order), like `sort_unstable_by`, with the comparison
/// inlined: for a short list sorted often (a bucket's sightings, per bucket close), where calls
/// through `dyn` cost more than the comparisons themselves. Insertion sort up to
/// [`INSERTION_MAX`] elements, heapsort above (the one instantiation per call site stays small).
pub(crate) fn sort_short_by<T: Copy>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    if v.len() > INSERTION_MAX {
        heapsort(v, &mut less);
        return;
    }
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && less(&x, &v[j - 1]) {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

fn heapsort<T>(v: &mut [T], less: &mut dyn FnMut(&T, &T) -> bool) {
    let n = v.len();
    for start in (0..n / 2).rev() {
        sift_down(v, start, n, less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        place_root(v, end, less);
    }
}

/// Moves the root of the heap `v[..end]` to its place, Floyd's way: down the path of larger
/// children to a leaf (one comparison a level), then back up to where the root belongs (one or
/// two levels, as the root came from the bottom). About half the comparisons of [`sift_down`],
/// which matters when comparing is a string comparison.
fn place_root<T>(v: &mut [T], end: usize, less: &mut dyn FnMut(&T, &T) -> bool) {
    let mut leaf = 0;
    loop {
        let child = 2 * leaf + 1;
        if child >= end {
            break;
        }
        leaf = if child + 1 < end && less(&v[child], &v[child + 1]) {
            child + 1
        } else {
            child
        };
    }
    let mut at = leaf;
    while at > 0 && less(&v[at], &v[0]) {
        at = (at - 1) / 2;
    }
    // Shift the path from the root's child to `at` up a level and put the root at `at`: swaps
    // down the path, each ancestor of `at` in turn (its ancestors are `at + 1` shifted right).
    let depth = (usize::BITS - 1 - (at + 1).leading_zeros()) as usize;
    for level in 1..=depth {
        let node = ((at + 1) >> (depth - level)) - 1;
        let parent = (node - 1) / 2;
        v.swap(parent, node);
    }
}

/// Restores the max-heap property below `node`, within `v[..end]`.
fn sift_down<T>(v: &mut [T], mut node: usize, end: usize, less: &mut dyn FnMut(&T, &T) -> bool) {
    loop {
        let mut child = 2 * node + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[node], &v[child]) {
            return;
        }
        v.swap(node, child);
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_standard_sort() {
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        for len in (0..40).chain([100, 1_000, 4_097]) {
            for spread in [0, 1, 2, 10, u64::MAX] {
                // Spread 0: already sorted; 1: reversed; otherwise random.
                let v: Vec<u64> = match spread {
                    0 => (0..len as u64).collect(),
                    1 => (0..len as u64).rev().collect(),
                    _ => (0..len).map(|_| next() % spread).collect(),
                };
                let mut ours = v.clone();
                sort(&mut ours);
                let mut std = v.clone();
                std.sort_unstable();
                assert_eq!(ours, std, "len {len} spread {spread}");
                let mut by = v.clone();
                sort_by(&mut by, |a, b| b.cmp(a));
                std.reverse();
                assert_eq!(by, std, "descending, len {len}");
            }
        }
    }

    #[test]
    fn short_sort_agrees_with_the_standard_sort_on_both_sides_of_its_cutoff() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        for len in (0..=2 * INSERTION_MAX + 1).chain([100, 1_000]) {
            for spread in [0, 1, 3, u64::MAX] {
                let v: Vec<(u64, u32)> = match spread {
                    0 => (0..len as u64).map(|x| (x, 0)).collect(),
                    1 => (0..len as u64).rev().map(|x| (x, 0)).collect(),
                    // Ties on the first field, broken by the second (distinct elements).
                    _ => (0..len).map(|i| (next() % spread, i as u32)).collect(),
                };
                let mut ours = v.clone();
                sort_short_by(&mut ours, |a, b| a < b);
                let mut std = v.clone();
                std.sort_unstable();
                assert_eq!(ours, std, "len {len} spread {spread}");
            }
        }
    }

    #[test]
    fn floats_by_total_order() {
        let mut v = vec![3.5, -0.0, f64::INFINITY, 0.0, -2.0, 3.5, f64::MIN_POSITIVE];
        sort_by(&mut v, f64::total_cmp);
        let mut std = v.clone();
        std.sort_by(f64::total_cmp);
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            std.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}
