//! One small in-place sort for the crate's own lists.
//!
//! The standard library's sorts are fast but large: each instantiation (element type × comparator)
//! is 5–10 KB of code, and the fifteen the crate had came to 154 KB of the 876 KB of code in the
//! `.wasm` (after `wasm-opt -Oz`). Everything sorted here is short (a bucket's sightings or
//! logons, a user's few addresses, a handful of concentrations) or sorted rarely (eviction cuts),
//! so a heapsort does: in place, O(n log n) in the worst case, no allocation, and a few hundred
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

fn heapsort<T>(v: &mut [T], less: &mut dyn FnMut(&T, &T) -> bool) {
    let n = v.len();
    for start in (0..n / 2).rev() {
        sift_down(v, start, n, less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, less);
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
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in (0..40).chain([100, 1_000, 4_097]) {
            for spread in [2, 10, u64::MAX] {
                let v: Vec<u64> = (0..len).map(|_| next() % spread).collect();
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
