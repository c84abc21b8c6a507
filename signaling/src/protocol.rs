//! The rules of one gateway connection, without IO: which opcodes are
//! allowed in which phase, the heartbeat deadline, and the per-connection
//! limit of 120 payloads per 60 seconds. The connection task feeds it each
//! payload's opcode with the current `Instant` and acts on the verdict.

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
    window_start: Instant,
    in_window: u32,
}

impl Protocol {
    pub fn new(now: Instant, heartbeat_interval: Duration) -> Self {
        Protocol {
            phase: Phase::Greeted,
            interval: heartbeat_interval,
            heartbeat_deadline: now + grace(heartbeat_interval),
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

    /// When the connection must be closed for want of a heartbeat.
    pub fn heartbeat_deadline(&self) -> Instant {
        self.heartbeat_deadline
    }

    pub fn timed_out(&self, now: Instant) -> bool {
        now >= self.heartbeat_deadline
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

    #[test]
    fn only_heartbeat_identify_and_resume_before_authentication() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB);
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
        let mut p = Protocol::new(t, HB);
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
        let mut p = Protocol::new(t, HB);
        assert!(!p.timed_out(t + Duration::from_secs(59)));
        assert!(p.timed_out(t + Duration::from_secs(60)));
        p.on_payload(op::HEARTBEAT, t + Duration::from_secs(50))
            .unwrap();
        assert!(!p.timed_out(t + Duration::from_secs(100)));
        assert!(p.timed_out(t + Duration::from_secs(110)));
    }

    #[test]
    fn more_than_120_payloads_a_minute_is_a_4008() {
        let t = Instant::now();
        let mut p = Protocol::new(t, HB);
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
        let mut q = Protocol::new(t, HB);
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
