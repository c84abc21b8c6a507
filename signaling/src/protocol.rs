//! The rules of one gateway connection, without IO: which opcodes are
//! allowed in which phase, the heartbeat and identify deadlines, and the
//! per-connection limit of 120 payloads per 60 seconds. The connection task
//! feeds it each payload's opcode with the current `Instant` and acts on the
//! verdict.
//!
//! An unauthenticated connection costs the node a socket and a task but
//! proves nothing, so heartbeats alone do not keep it: it must Identify or
//! Resume within the identify deadline, or it is closed with 4003.

use std::time::{Duration, Instant};

use hearth_proto::gateway::{op, CloseCode};

pub const MAX_PAYLOADS: u32 = 120;
pub const PAYLOAD_WINDOW: Duration = Duration::from_secs(60);
/// Largest client payload, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Hello sent; only Heartbeat, Identify and Resume are allowed.
    Greeted,
    /// Identified or resumed.
    Live,
}

#[derive(Debug)]
pub struct Protocol {
    phase: Phase,
    interval: Duration,
    heartbeat_deadline: Instant,
    /// Until when the connection may stay in `Greeted`.
    identify_deadline: Instant,
    window_start: Instant,
    in_window: u32,
}

impl Protocol {
    pub fn new(now: Instant, heartbeat_interval: Duration, identify_within: Duration) -> Self {
        Protocol {
            phase: Phase::Greeted,
            interval: heartbeat_interval,
            heartbeat_deadline: now + grace(heartbeat_interval),
            identify_deadline: now + identify_within,
            window_start: now,
            in_window: 0,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Checks a payload before it is handled.
    pub fn on_payload(&mut self, opcode: u8, now: Instant) -> Result<(), CloseCode> {
        if now.duration_since(self.window_start) >= PAYLOAD_WINDOW {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window += 1;
        if self.in_window > MAX_PAYLOADS {
            return Err(CloseCode::RateLimited);
        }
        match opcode {
            op::HEARTBEAT => {
                self.heartbeat_deadline = now + grace(self.interval);
                Ok(())
            }
            op::IDENTIFY | op::RESUME => match self.phase {
                Phase::Greeted => Ok(()),
                Phase::Live => Err(CloseCode::AlreadyAuthenticated),
            },
            op::PRESENCE_UPDATE | op::VOICE_STATE_UPDATE | op::REQUEST_GUILD_MEMBERS => {
                match self.phase {
                    Phase::Live => Ok(()),
                    Phase::Greeted => Err(CloseCode::NotAuthenticated),
                }
            }
            _ => Err(CloseCode::UnknownOpcode),
        }
    }

    /// Identify or Resume succeeded.
    pub fn authenticated(&mut self) {
        self.phase = Phase::Live;
    }

    /// When the connection must be closed if nothing changes, and with
    /// which code: 4009 for a missing heartbeat, 4003 for a connection still
    /// unauthenticated at its identify deadline.
    pub fn deadline(&self) -> (Instant, CloseCode) {
        let heartbeat = (self.heartbeat_deadline, CloseCode::SessionTimedOut);
        match self.phase {
            Phase::Greeted if self.identify_deadline < self.heartbeat_deadline => {
                (self.identify_deadline, CloseCode::NotAuthenticated)
            }
            _ => heartbeat,
        }
    }

    /// The close code if a deadline has passed at `now`.
    pub fn timed_out(&self, now: Instant) -> Option<CloseCode> {
        let (at, code) = self.deadline();
        (now >= at).then_some(code)
    }
}

/// A client gets half an interval of slack for jitter and slow networks.
fn grace(interval: Duration) -> Duration {
    interval + interval / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    const HB: Duration = Duration::from_secs(40);
    /// Longer than any test here runs, unless a test is about it.
    const ID: Duration = Duration::from_secs(3600);

    #[test]
    fn only_heartbeat_identify_and_resume_before_authentication() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB, ID);
        assert_eq!(p.on_payload(op::HEARTBEAT, t), Ok(()));
        assert_eq!(
            p.on_payload(op::PRESENCE_UPDATE, t),
            Err(CloseCode::NotAuthenticated)
        );
        assert_eq!(
            p.on_payload(op::REQUEST_GUILD_MEMBERS, t),
            Err(CloseCode::NotAuthenticated)
        );
        assert_eq!(p.on_payload(op::IDENTIFY, t), Ok(()));
        p.authenticated();
        assert_eq!(
            p.on_payload(op::IDENTIFY, t),
            Err(CloseCode::AlreadyAuthenticated)
        );
        assert_eq!(
            p.on_payload(op::RESUME, t),
            Err(CloseCode::AlreadyAuthenticated)
        );
        assert_eq!(p.on_payload(op::PRESENCE_UPDATE, t), Ok(()));
    }

    #[test]
    fn unknown_and_receive_only_opcodes_are_refused() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB, ID);
        for bad in [
            op::DISPATCH,
            op::HELLO,
            op::HEARTBEAT_ACK,
            op::INVALID_SESSION,
            op::RECONNECT,
            5,
            42,
        ] {
            assert_eq!(
                p.on_payload(bad, t),
                Err(CloseCode::UnknownOpcode),
                "op {bad}"
            );
        }
    }

    #[test]
    fn heartbeats_push_the_deadline() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB, ID);
        assert_eq!(p.timed_out(t + Duration::from_secs(59)), None);
        assert_eq!(
            p.timed_out(t + Duration::from_secs(60)),
            Some(CloseCode::SessionTimedOut)
        );
        p.on_payload(op::HEARTBEAT, t + Duration::from_secs(50))
            .unwrap();
        assert_eq!(p.timed_out(t + Duration::from_secs(100)), None);
        assert_eq!(
            p.timed_out(t + Duration::from_secs(110)),
            Some(CloseCode::SessionTimedOut)
        );
    }

    #[test]
    fn heartbeats_do_not_keep_an_unauthenticated_connection_past_its_identify_deadline() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB, Duration::from_secs(20));
        for s in [10, 19] {
            p.on_payload(op::HEARTBEAT, t + Duration::from_secs(s))
                .unwrap();
        }
        assert_eq!(p.timed_out(t + Duration::from_secs(19)), None);
        assert_eq!(
            p.deadline(),
            (t + Duration::from_secs(20), CloseCode::NotAuthenticated)
        );
        assert_eq!(
            p.timed_out(t + Duration::from_secs(20)),
            Some(CloseCode::NotAuthenticated)
        );
    }

    #[test]
    fn an_authenticated_connection_has_only_the_heartbeat_deadline() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB, Duration::from_secs(20));
        p.on_payload(op::IDENTIFY, t + Duration::from_secs(5))
            .unwrap();
        p.authenticated();
        assert_eq!(p.timed_out(t + Duration::from_secs(30)), None);
        assert_eq!(
            p.deadline(),
            (t + Duration::from_secs(60), CloseCode::SessionTimedOut)
        );
    }

    #[test]
    fn more_than_120_payloads_a_minute_is_a_4008() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB, ID);
        for i in 0..120 {
            assert_eq!(
                p.on_payload(op::HEARTBEAT, t + Duration::from_millis(i)),
                Ok(())
            );
        }
        assert_eq!(
            p.on_payload(op::HEARTBEAT, t + Duration::from_secs(1)),
            Err(CloseCode::RateLimited)
        );
        // A fresh window starts a minute after the first.
        let mut q = Protocol::new(t, HB, ID);
        for i in 0..120 {
            q.on_payload(op::HEARTBEAT, t + Duration::from_millis(i))
                .unwrap();
        }
        assert_eq!(
            q.on_payload(op::HEARTBEAT, t + Duration::from_secs(61)),
            Ok(())
        );
    }
}
