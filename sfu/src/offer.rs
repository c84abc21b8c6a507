//! A client's SDP offer, checked before str0m spends any work on it, and
//! why one was refused, in words fit for a close frame.

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::Rtc;

/// Why a join's offer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// More m-lines than a participant may have.
    #[error("the offer has {count} m-lines; at most {max} are allowed")]
    TooManyTracks { count: usize, max: usize },
    /// Not SDP str0m can read.
    #[error("invalid SDP offer: {0}")]
    Invalid(String),
    /// SDP, but not one str0m can answer (no ICE credentials, no DTLS
    /// fingerprint, ...).
    #[error("cannot accept the offer: {0}")]
    Unacceptable(String),
    /// The server could not set up its side.
    #[error("the media server could not take the call: {0}")]
    Server(String),
}

/// The m-lines of an offer, counted without parsing it.
pub fn m_lines(sdp: &str) -> usize {
    sdp.lines().filter(|l| l.starts_with("m=")).count()
}

/// Accepts a client's first offer on a fresh `Rtc`, refusing one with more
/// than `max_tracks` m-lines before str0m parses it.
pub fn accept(rtc: &mut Rtc, sdp: &str, max_tracks: usize) -> Result<SdpAnswer, OfferError> {
    let count = m_lines(sdp);
    if count > max_tracks {
        return Err(OfferError::TooManyTracks {
            count,
            max: max_tracks,
        });
    }
    let offer = SdpOffer::from_sdp_string(sdp)
        .map_err(|e| OfferError::Invalid(readable(&e.to_string())))?;
    rtc.sdp_api()
        .accept_offer(offer)
        .map_err(|e| OfferError::Unacceptable(readable(&e.to_string())))
}

/// A parser's message as a person should read it: str0m's parse errors
/// start with "Parse error at" and the position as a pointer into the
/// input (a heap address, of no use to the client and not ours to show),
/// then say what was expected line by line. Keeps what was expected, on
/// one line, printable, and short enough for a close frame.
pub fn readable(message: &str) -> String {
    let message = message.strip_prefix("SDP parse:").unwrap_or(message);
    let lines: Vec<String> = message
        .lines()
        .map(|line| {
            let words: Vec<&str> = line
                .split_whitespace()
                .filter(|w| !looks_like_address(w))
                .collect();
            words
                .join(" ")
                .replace("Parse error at", "")
                .trim()
                .to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    let mut out: String = lines
        .join("; ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if out.is_empty() {
        out = "not a session description".to_owned();
    }
    const MAX: usize = 90;
    if out.len() > MAX {
        let mut end = MAX;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push('…');
    }
    out
}

/// `0x7f3a…` or `PointerOffset(0x…)`: a pointer printed by `Debug`.
fn looks_like_address(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let w = w.strip_prefix("PointerOffset(").unwrap_or(w);
    w.strip_prefix("0x")
        .is_some_and(|hex| hex.len() >= 6 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_error_says_what_was_expected_and_no_address() {
        let raw = "SDP parse: Parse error at 0x55d4c2a1b3f0\nUnexpected `t`\nExpected `v=`\n";
        let clean = readable(raw);
        assert_eq!(clean, "Unexpected `t`; Expected `v=`");
        assert!(!readable("at PointerOffset(0x7ffd2a3b4c5d) oops").contains("0x"));
    }

    #[test]
    fn a_real_str0m_parse_error_loses_its_address() {
        let e = SdpOffer::from_sdp_string("this is not an SDP offer").unwrap_err();
        let raw = e.to_string();
        let clean = readable(&raw);
        assert!(!clean.contains("0x"), "{clean} (from {raw:?})");
        assert!(!clean.is_empty());
        assert!(clean.len() < 100, "{clean}");
    }

    #[test]
    fn offers_are_counted_by_their_m_lines() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        assert_eq!(m_lines(sdp), 2);
        let mut rtc = Rtc::new(std::time::Instant::now());
        let many = "v=0\r\n".to_owned() + &"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n".repeat(430);
        assert_eq!(
            accept(&mut rtc, &many, 8).unwrap_err(),
            OfferError::TooManyTracks { count: 430, max: 8 }
        );
    }
}
