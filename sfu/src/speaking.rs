//! Voice activity from the RFC 6464 audio-level header extension, with
//! hysteresis so a speaker does not flicker between words.
//!
//! Levels are -dBov (0 loudest, -127 silence). Speech starts when a packet is
//! louder than `START_DBOV`; it stops once no packet has been louder than
//! `STOP_DBOV` for `HANGOVER`.

use std::time::{Duration, Instant};

const START_DBOV: i8 = -40;
const STOP_DBOV: i8 = -50;
const HANGOVER: Duration = Duration::from_millis(400);

#[derive(Debug, Default)]
pub struct SpeakingDetector {
    speaking: bool,
    last_loud: Option<Instant>,
}

impl SpeakingDetector {
    /// Feeds one packet's level; returns the new state when it changed.
    pub fn on_level(&mut self, level: i8, now: Instant) -> Option<bool> {
        if level >= STOP_DBOV {
            self.last_loud = Some(now);
        }
        if !self.speaking && level >= START_DBOV {
            self.speaking = true;
            return Some(true);
        }
        self.on_tick(now)
    }

    /// Time passing without packets (a muted or departed speaker).
    pub fn on_tick(&mut self, now: Instant) -> Option<bool> {
        if self.speaking
            && self
                .last_loud
                .is_none_or(|t| now.duration_since(t) >= HANGOVER)
        {
            self.speaking = false;
            return Some(false);
        }
        None
    }

    pub fn speaking(&self) -> bool {
        self.speaking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_loud_audio_and_stops_after_the_hangover() {
        let t = Instant::now();
        let mut d = SpeakingDetector::default();
        assert_eq!(d.on_level(-100, t), None);
        assert_eq!(d.on_level(-20, t + Duration::from_millis(20)), Some(true));
        // A quieter word still counts as speech (hysteresis).
        assert_eq!(d.on_level(-45, t + Duration::from_millis(200)), None);
        assert_eq!(d.on_level(-90, t + Duration::from_millis(400)), None);
        assert_eq!(d.on_level(-90, t + Duration::from_millis(599)), None);
        assert_eq!(d.on_level(-90, t + Duration::from_millis(600)), Some(false));
        assert_eq!(
            d.on_level(-45, t + Duration::from_millis(620)),
            None,
            "too quiet to start"
        );
    }

    #[test]
    fn silence_without_packets_ends_speech() {
        let t = Instant::now();
        let mut d = SpeakingDetector::default();
        d.on_level(-10, t);
        assert_eq!(d.on_tick(t + Duration::from_millis(100)), None);
        assert_eq!(d.on_tick(t + Duration::from_secs(1)), Some(false));
    }
}
