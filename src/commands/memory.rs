//! glibc's allocator gives each thread that allocates under contention an arena of its own (up
//! to eight per core) and keeps what is freed there. actiond starts new GStreamer threads at
//! every camera reconnection, so with the default its RSS grew by 2.5–5 MiB per reconnection
//! and 22 % over a 30-minute soak with flapping cameras; with two arenas it stays flat, at the
//! same speed (BENCHMARKS.md, "Under fire"). `MALLOC_ARENA_MAX`, when set, still decides.

/// Arenas for the whole process; called first thing, before any thread is started.
pub fn limit_allocator_arenas() {
    const ARENAS: libc::c_int = 2;
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable of the allocator; no thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}
