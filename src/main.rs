//! The `bookhook` binary: see `cli` for its commands.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    bookhook::cli::main()
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser side is the library's `hydrate`; this binary needs the `ssr` feature.
}
