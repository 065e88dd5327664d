//! What a benchmark reads off its own process.

use std::time::Duration;

/// CPU time used by this process so far (user + system).
pub fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// CPU time of each of this process's threads so far, summed by thread
/// name with any trailing number dropped (`tokio-runtime-w`, `sqlx-sqlite-worker-`),
/// from /proc: where a window's CPU went.
pub fn cpu_by_thread() -> std::collections::BTreeMap<String, Duration> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close]
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string();
        *by_name.entry(name).or_insert(Duration::ZERO) += ticks_to_time(&stat[close + 1..]);
    }
    by_name
}

/// utime + stime from the fields of a `stat` file after the command name.
fn ticks_to_time(rest: &str) -> Duration {
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis((ticks(11) + ticks(12)) * 1_000 / hz)
}

/// The allocator's heap in use and free in its arenas, in bytes (zeros
/// where glibc's `mallinfo2` is not there).
pub fn heap_bytes() -> (u64, u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes nothing and returns a plain struct.
        let info = unsafe { libc::mallinfo2() };
        (info.uordblks as u64, info.fordblks as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    (0, 0)
}

/// The allocator's own account (bytes in use and bytes it holds free)
/// and resident memory by kind, as one line.
pub fn heap() -> String {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes nothing and returns a plain struct.
        let info = unsafe { libc::mallinfo2() };
        let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
        // Resident memory by kind: the heap and stacks (anonymous) apart
        // from the binary's code and data mapped from its file.
        let pid = std::process::id();
        let resident = |key: &str| mib(status_kib(pid, key) as usize * 1024);
        format!(
            "heap: {:.1} MiB in use, {:.1} MiB free in arenas, {:.1} MiB mmapped; \
             resident: {:.1} MiB anonymous, {:.1} MiB from files",
            mib(info.uordblks),
            mib(info.fordblks),
            mib(info.hblkhd),
            resident("RssAnon:"),
            resident("RssFile:")
        )
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    String::new()
}

/// Resident set size now, in bytes.
pub fn rss_bytes() -> u64 {
    rss_of(std::process::id())
}

/// Another process's CPU time so far (user + system), from /proc.
pub fn cpu_time_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is
    // the 12th and stime the 13th, in clock ticks.
    ticks_to_time(stat.rsplit_once(')').map_or("", |(_, r)| r))
}

/// Another process's resident set size, in bytes (0 once it is gone).
pub fn rss_of(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:") * 1024
}

/// One `kB` line of a process's `/proc/<pid>/status`, such as `VmRSS:`
/// or `RssAnon:` (0 when missing or once the process is gone).
pub fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// Raises the open-files limit to its hard maximum (many sockets).
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// The machine, for the record: cores and CPU model.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {model}")
}
