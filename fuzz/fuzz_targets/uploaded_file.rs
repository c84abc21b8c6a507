//! Uploaded files, as the server reads them: any bytes are typed by
//! sniffing without a panic, and any bytes sniffed as an image are
//! decoded for a thumbnail only within the pixel and allocation limits —
//! a broken or lying image is an error, never a panic or a huge
//! allocation (libFuzzer's RSS limit catches one), and a thumbnail never
//! exceeds the box it was asked to fit.
#![no_main]

use hearth_files::{picture, sniff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(sniff::SNIFF_LEN)];
    let kind = sniff::content_type(head);
    if !kind.starts_with("image/") {
        return;
    }
    if let Ok((thumb, thumb_kind)) = picture::thumbnail(data, kind, 32, 32) {
        assert!(thumb_kind.starts_with("image/"));
        assert!(!thumb.is_empty());
    }
});
