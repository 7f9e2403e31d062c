//! The `simorg` command line.

use std::process::Command;

fn simorg(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_simorg"))
        .args(args)
        .output()
        .expect("run simorg")
}

#[test]
fn bad_arguments_give_a_clear_error() {
    for (args, needle) in [
        (&["--users", "abc"][..], "--users expects"),
        (&["--seed", "-1"][..], "--seed expects"),
        (&["--days"][..], "--days needs a value"),
        (&["--start", "yesterday"][..], "--start expects a date"),
        (&["--frobnicate"][..], "unknown argument"),
        (&["--users", "5"][..], "users must be between 40"),
        (&["--days", "0", "--no-attacks"][..], "days must be between 1"),
        (&["--no-attacks=yes"][..], "does not take a value"),
        (&["--out="][..], "--out needs a file name"),
    ] {
        let out = simorg(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    let out = simorg(&["--out", "/nonexistent-dir/x.ndjson"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create"));
}

#[test]
fn help_and_version() {
    let out = simorg(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--no-attacks"));
    let out = simorg(&["-V"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("simorg "));
}

#[test]
fn writes_files_and_stdout_identically() {
    let dir = std::env::temp_dir().join(format!("simorg-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let out_path = dir.join("o.ndjson");
    let truth_path = dir.join("o.truth.json");
    let args = ["--seed", "3", "--users=40", "--days", "21", "--start", "2026-01-05"];
    let mut with_files: Vec<&str> = args.to_vec();
    let (o, t) = (
        out_path.to_string_lossy().to_string(),
        truth_path.to_string_lossy().to_string(),
    );
    with_files.extend(["--out", &o, "--truth", &t]);
    let res = simorg(&with_files);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let file = std::fs::read(&out_path).expect("out file");
    let stdout = simorg(&args).stdout;
    assert!(file == stdout);
    assert!(std::str::from_utf8(&file)
        .expect("utf8")
        .starts_with("{\"@timestamp\":\"2026-01-05T"));
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(&truth_path).expect("truth")).expect("json");
    assert_eq!(truth["seed"], 3);
    assert_eq!(truth["start"], "2026-01-05T00:00:00Z");
    assert_eq!(truth["attacks"].as_array().map(Vec::len), Some(7));
    std::fs::remove_dir_all(&dir).ok();
}
