fn main() {
    // sqlx::migrate!() embeds migrations/ at compile time: rebuild when a migration is added.
    println!("cargo:rerun-if-changed=migrations");
    // The integration tests' backend is chosen when they are built, so that a test that needs
    // PostgreSQL is compiled as ignored (and reported as such) on the SQLite run.
    println!("cargo::rustc-check-cfg=cfg(bookhook_test_postgres)");
    println!("cargo:rerun-if-env-changed=BOOKHOOK_TEST_BACKEND");
    if std::env::var("BOOKHOOK_TEST_BACKEND").as_deref() == Ok("postgres") {
        println!("cargo::rustc-cfg=bookhook_test_postgres");
    }
}
