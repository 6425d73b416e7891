fn main() {
    // sqlx::migrate!() embeds migrations/ at compile time: rebuild when a migration is added.
    println!("cargo::rerun-if-changed=migrations");

    // The integration suite (tests/api/) is compiled for one backend, so a test that needs the
    // other can carry `#[cfg_attr(not(bookhook_test_postgres), ignore = "...")]` and be reported
    // as ignored rather than passed. tests/api/helpers.rs takes the backend from the cfg too (and
    // only checks that the variable agrees). Switching it recompiles this crate, not its
    // dependencies (about 15 s with incremental builds).
    println!("cargo::rustc-check-cfg=cfg(bookhook_test_postgres)");
    // The disk-full test mounts a small tmpfs, which needs root (as the tests run here and in
    // CI); built by anyone else it is reported as ignored, with that reason.
    println!("cargo::rustc-check-cfg=cfg(bookhook_test_root)");
    if effective_uid() == Some(0) {
        println!("cargo::rustc-cfg=bookhook_test_root");
    }
    println!("cargo::rerun-if-env-changed=BOOKHOOK_TEST_BACKEND");
    match std::env::var("BOOKHOOK_TEST_BACKEND").as_deref() {
        Ok("postgres") => println!("cargo::rustc-cfg=bookhook_test_postgres"),
        Ok("" | "sqlite") | Err(std::env::VarError::NotPresent) => {}
        // A misspelt backend would otherwise run the SQLite suite and look like a pass.
        Ok(other) => {
            println!("cargo::error=BOOKHOOK_TEST_BACKEND is {other:?}; use postgres, sqlite or leave it unset");
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            println!("cargo::error=BOOKHOOK_TEST_BACKEND is not UTF-8; use postgres, sqlite or leave it unset");
        }
    }
}

/// This process's effective user id, from /proc (Linux); `None` elsewhere.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}
