//! The allocator, set up before any thread starts.
//!
//! glibc's malloc gives each thread that meets a locked arena one of its
//! own, up to eight per core, and an arena keeps the pages freed into it.
//! Hale's runtime threads, the SQLite workers and the blocking pool all
//! allocate, so freed memory is spread over many arenas. Capped, 1,000
//! services every 20 s ran at 39.7–41.4 MiB against 41.7 MiB uncapped:
//! about a megabyte, inside run-to-run spread, at no measurable CPU cost
//! (docs/benchmarks.md, issue 15); more for a Hale whose threads burst.
//! So Hale keeps one arena per core, unless the operator set glibc's own
//! knob (`MALLOC_ARENA_MAX`, or `GLIBC_TUNABLES`), which then wins.

/// How many arenas to cap glibc at: one per core (at least two), or none
/// when the environment already says.
pub fn arena_cap(cores: usize, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<usize> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    if set("MALLOC_ARENA_MAX") || set("GLIBC_TUNABLES") {
        return None;
    }
    Some(cores.max(2))
}

/// Caps glibc's arenas ([`arena_cap`]); call it first thing in `main`,
/// before the runtime's threads exist. Elsewhere than glibc, nothing.
pub fn cap_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let Some(cap) = arena_cap(cores, |name| std::env::var_os(name)) else {
        return;
    };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes no pointers; it sets a limit the allocator
    // reads when a thread next looks for an arena.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cap).unwrap_or(i32::MAX));
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = cap;
}

/// Hands the allocator's free pages back to the system. glibc returns
/// only the top of a heap on its own: memory freed below live blocks
/// stays resident for the life of the process. So a Hale whose memory
/// once peaked (a large roll-up, a reload from many services to few, a
/// burst of renders) kept the peak: in the probe-engine benchmark, 1,000
/// services every 20 s run after 11,000 services held 235 MiB resident
/// with 21 MiB in use and 203 MiB free in the arenas (docs/benchmarks.md).
/// Hale calls this once a minute, after the roll-up; a trim walks the free
/// chunks, a small cost once a minute. Elsewhere than glibc, nothing.
pub fn give_back_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn one_arena_a_core_unless_the_environment_says() {
        let none = |_: &str| None;
        assert_eq!(arena_cap(2, none), Some(2));
        assert_eq!(arena_cap(16, none), Some(16));
        assert_eq!(arena_cap(1, none), Some(2));
        let operator = |name: &str| (name == "MALLOC_ARENA_MAX").then(|| OsString::from("8"));
        assert_eq!(arena_cap(4, operator), None);
        let tunables = |name: &str| {
            (name == "GLIBC_TUNABLES").then(|| OsString::from("glibc.malloc.arena_max=4"))
        };
        assert_eq!(arena_cap(4, tunables), None);
        let empty = |name: &str| (name == "MALLOC_ARENA_MAX").then(OsString::new);
        assert_eq!(arena_cap(4, empty), Some(4));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn resident_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn memory_freed_below_a_live_block_goes_back() {
        // 80 MiB of small blocks, written so they are resident, then all
        // freed but the last: glibc keeps them, as the top is still in use.
        let mut blocks: Vec<Box<[u8; 4096]>> = (0..20_480).map(|_| Box::new([1u8; 4096])).collect();
        let last = blocks.pop();
        drop(blocks);
        let held = resident_kib();
        give_back_free();
        let after = resident_kib();
        drop(last);
        assert!(
            held.saturating_sub(after) > 40 * 1024,
            "resident {held} KiB before the trim, {after} KiB after"
        );
    }
}
