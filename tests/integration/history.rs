//! What the tool records and reports about itself, and what it refuses:
//! the guards on `--at`.

use crate::common::{SmtpSink, TestDb, all_output};
use crate::project_deadlines::{AT, scenario};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn at_on_a_real_run_needs_replay_and_a_storable_instant_64() {
    let mut db = TestDb::new();
    scenario(&mut db);
    let before = db.table_counts();
    let sink = SmtpSink::start();
    for (args, says) in [
        (
            vec!["run-all", "--at", "2026-12-01T08:00:00+01:00"],
            "--at on a real run needs --replay: it writes rows dated at that instant and mails them now",
        ),
        (vec!["check-budget", "--at", AT], "--at on a real run needs --replay"),
        (vec!["run-all", "--replay"], "--replay needs --at"),
        (vec!["run-all", "--at", "9999-12-31T23:59:59Z", "--dry-run"], "outside the instants the tables can hold"),
        (vec!["run-all", "--at", "9999-12-31T23:59:59Z", "--replay"], "outside the instants the tables can hold"),
        (vec!["check-project-deadlines", "--at", "1969-12-31T23:00:00Z", "--dry-run"], "years 1970 to 9998"),
    ] {
        let out = db.run(&sink.url(), &args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", all_output(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("sigov-alerts: error: ") && err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(db.table_counts(), before, "nothing written");
    assert_eq!(sink.count(), 0);
    // A preview at another instant needs no flag; the edges of the range are accepted.
    for at in [AT, "9998-12-31T12:00:00Z", "1970-01-02T00:00:00Z"] {
        let out = db.run(&sink.url(), &["run-all", "--at", at, "--dry-run"]);
        assert_eq!(out.status.code(), Some(0), "{at}: {}", all_output(&out));
    }
}
