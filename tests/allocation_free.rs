//! The hot path allocates nothing per event (issue 8: "no per-event allocation on the hot path —
//! measured with a counting allocator").
//!
//! Scenario: 40 users on their usual addresses, through sshd ECS lines and winlogbeat 4624/4625
//! lines (so fields come and go between lines), for three weeks of learning. Then one more
//! working day of the same routine is fed through `push_ndjson` with all six jobs: it must not
//! allocate per event. What may still allocate is per bucket, not per event (closing a bucket:
//! learning lists that grow, the daily prune), so the bound is a small number per closed bucket,
//! far below one per event.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use auth_anomaly::time::format_rfc3339_ms;
use auth_anomaly::{Config, Detector};
use common::{DAY, HOUR, T0};

/// Counts this thread's allocations (other test threads allocate concurrently).
struct PerThreadCounting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for PerThreadCounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as for `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: PerThreadCounting = PerThreadCounting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const USERS: usize = 40;

fn sshd(ts: i64, user: &str, ip: &str, success: bool) -> String {
    let (outcome, action) = if success {
        ("success", "ssh_login")
    } else {
        ("failure", "ssh_login")
    };
    format!(
        r#"{{"@timestamp":"{}","event":{{"category":["authentication"],"outcome":"{outcome}","action":"{action}","dataset":"system.auth"}},"user":{{"name":"{user}"}},"source":{{"ip":"{ip}","port":50122}},"host":{{"name":"bastion-01"}},"process":{{"name":"sshd","pid":4242}},"system":{{"auth":{{"ssh":{{"method":"publickey"}}}}}}}}"#,
        format_rfc3339_ms(ts)
    )
}

fn winlogbeat(ts: i64, user: &str, ip: &str, success: bool) -> String {
    let code = if success { 4624 } else { 4625 };
    format!(
        r#"{{"@timestamp":"{}","event":{{"code":"{code}","category":["authentication"]}},"winlog":{{"event_id":"{code}","computer_name":"dc01.corp.example","event_data":{{"TargetUserName":"{user}","TargetDomainName":"CORP","IpAddress":"{ip}","IpPort":"51000","LogonType":"3","ProcessName":"C:\\Windows\\System32\\lsass.exe"}}}}}}"#,
        format_rfc3339_ms(ts)
    )
}

/// One day of the routine: each user logs on every hour from 08:00 to 17:00 from one of their
/// two addresses (half of them on Windows when `windows`); one in ten attempts first fails.
fn day(d: i64, windows: bool) -> String {
    let mut lines = Vec::new();
    for hour in 8..18 {
        for u in 0..USERS {
            let ts = T0 + d * DAY + hour * HOUR + (u as i64 * 61_000) % HOUR;
            let user = format!("user{u:02}");
            let ip = format!("10.{}.{}.{}", 20 + u / 10, u % 10, 10 + (hour as usize + u) % 2);
            let line = if windows && u % 2 == 1 { winlogbeat } else { sshd };
            if (hour as usize + u) % 10 == 0 {
                lines.push((ts - 5_000, line(ts - 5_000, &user, &ip, false)));
            }
            lines.push((ts, line(ts, &user, &ip, true)));
        }
    }
    lines.sort();
    lines.into_iter().map(|(_, l)| l + "\n").collect()
}

/// Feeds 21 days of the routine, then measures day 22: (allocations, events, winlogbeat lines,
/// closed buckets).
fn measure(windows: bool) -> (u64, u64, u64, u64) {
    let mut detector = Detector::new(Config::default()).expect("config");
    for d in 0..21 {
        detector.push_ndjson(day(d, windows).as_bytes());
        detector.take_results();
    }
    let measured = day(21, windows);
    let winlogbeat_lines = measured.lines().filter(|l| l.contains("\"winlog\"")).count() as u64;
    let (events_before, buckets_before) = (detector.stats().events, detector.stats().buckets_closed);
    let before = allocations();
    let out = detector.push_ndjson(measured.as_bytes());
    let spent = allocations() - before;
    let stats = detector.stats();
    assert_eq!(stats.rejected, 0, "{:?}", stats.first_rejections);
    assert!(
        out.is_empty(),
        "the routine raises no alert: {}",
        String::from_utf8_lossy(&out)
    );
    (
        spent,
        stats.events - events_before,
        winlogbeat_lines,
        stats.buckets_closed - buckets_before,
    )
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "debug builds cross-check skipped assessments (allocating): make test runs this with --release"
)]
fn a_steady_ecs_stream_does_not_allocate_per_event() {
    let (spent, events, _, buckets) = measure(false);
    assert!(events >= 400, "{events} events");
    assert!(
        spent <= 4 * buckets,
        "{spent} allocations for {events} events and {buckets} closed buckets"
    );
}

/// A winlogbeat line's `ProcessName` is a Windows path, so its JSON has escapes: the winlogbeat
/// scanner unescapes it into the line event's buffer, reused from line to line (serde_json
/// unescaped into a buffer of its own per document, four allocations per such line). So a
/// winlogbeat line allocates no more than an ECS line: nothing per event.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "debug builds cross-check skipped assessments (allocating): make test runs this with --release"
)]
fn a_steady_mixed_stream_with_escaped_windows_paths_does_not_allocate_per_event() {
    let (spent, events, winlogbeat_lines, buckets) = measure(true);
    assert!(winlogbeat_lines >= 200, "{winlogbeat_lines} winlogbeat lines");
    assert!(
        spent <= 4 * buckets,
        "{spent} allocations for {events} events ({winlogbeat_lines} winlogbeat) and {buckets} closed buckets"
    );
}
