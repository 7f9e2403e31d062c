//! Any bytes as a raw syslog line: an event, "not a logon" or a reason, never a panic; the year
//! inference state survives any sequence.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parser = auth_anomaly::ingest::syslog::SyslogParser::new(1_790_000_000_000);
    for line in data.split(|&b| b == b'\n') {
        let _ = parser.parse_bytes(line);
    }
});
