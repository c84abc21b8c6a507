//! What the load test needs from the operating system: enough file
//! descriptors for its sockets, and the resident memory and CPU time of a
//! process (the server under test, or itself) from `/proc`.

use std::time::Instant;

use serde::Serialize;

/// Raises the open-file soft limit to the hard limit: every session is a
/// socket, and the usual soft limit of 1024 would stop a run at about a
/// thousand. Returns the soft limit in force afterwards.
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Some(widen(raised.rlim_cur));
            }
        }
        Some(widen(lim.rlim_cur))
    }
    #[cfg(not(unix))]
    None
}

/// `rlim_t` is `u64` on Linux but not on every Unix.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn widen(v: libc::rlim_t) -> u64 {
    v as u64
}

/// A process's resident memory and CPU time at one moment.
#[derive(Clone, Copy, Debug)]
pub struct ProcSample {
    pub at: Instant,
    /// `VmRSS` from `/proc/PID/status`.
    pub rss_kib: u64,
    /// User plus system time from `/proc/PID/stat`, in seconds.
    pub cpu_secs: f64,
}

impl ProcSample {
    /// `None` if the process is gone or `/proc` is not there (not Linux).
    pub fn read(pid: u32) -> Option<ProcSample> {
        let at = Instant::now();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(ProcSample {
            at,
            rss_kib: parse_vm_rss(&status)?,
            cpu_secs: parse_cpu_ticks(&stat)? as f64 / clock_ticks_per_sec(),
        })
    }

    pub fn of_self() -> Option<ProcSample> {
        ProcSample::read(std::process::id())
    }

    /// CPU used between two samples, as a percentage of one core.
    pub fn cpu_percent_since(&self, earlier: &ProcSample) -> f64 {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        (self.cpu_secs - earlier.cpu_secs) / wall * 100.0
    }
}

/// CPU and memory of a process over a phase of the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProcUsage {
    pub rss_start_kib: u64,
    pub rss_end_kib: u64,
    /// Percent of one core; 200 would be both of two cores.
    pub cpu_percent: f64,
    /// User plus system time over the phase.
    pub cpu_secs: f64,
}

impl ProcUsage {
    pub fn between(start: &ProcSample, end: &ProcSample) -> ProcUsage {
        ProcUsage {
            rss_start_kib: start.rss_kib,
            rss_end_kib: end.rss_kib,
            cpu_percent: end.cpu_percent_since(start),
            cpu_secs: (end.cpu_secs - start.cpu_secs).max(0.0),
        }
    }
}

fn clock_ticks_per_sec() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf has no preconditions.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if t > 0 {
            return t as f64;
        }
    }
    100.0
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// utime + stime: fields 14 and 15 of `/proc/PID/stat`, counted after the
/// command name, which is in parentheses and may itself contain spaces.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state), so field n is at index n - 3.
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_and_cpu_time_are_read_from_proc_formats() {
        let status = "Name:\thearth\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12345));
        let stat =
            "4242 (tokio runtime) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
    }

    #[test]
    fn this_process_can_be_sampled() {
        if cfg!(target_os = "linux") {
            let s = ProcSample::of_self().expect("own /proc entry");
            assert!(s.rss_kib > 0);
        }
    }
}
