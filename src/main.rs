//! The `bookhook` binary: see `cli` for its commands.

/// The server allocates and frees many short buffers on several threads at once (request and
/// response bodies, payloads, rows); glibc's malloc spent a sixth of its CPU time on that under
/// `make bench`.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    bookhook::cli::main()
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser side is the library's `hydrate`; this binary needs the `ssr` feature.
}
