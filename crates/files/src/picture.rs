//! Images: their size, read from the header alone, and thumbnails.
//!
//! A decompression bomb is a small file whose header promises an enormous
//! picture. Nothing is decoded before the header's dimensions are checked
//! against [`MAX_PIXELS`], and decoding itself runs under `image`'s limits,
//! so a lying header cannot make the decoder allocate more either.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, ImageReader, Limits};

/// The largest picture measured as an image or thumbnailed: 64 megapixels
/// (an 8K × 8K square), about 256 MB decoded.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;
/// The largest side of a thumbnail.
pub const MAX_THUMB_SIDE: u32 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("not an image this server reads")]
    Unsupported,
    #[error("image larger than the pixel limit")]
    TooLarge,
    #[error("image decoding: {0}")]
    Decode(String),
}

fn format_of(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(MAX_PIXELS * 4 + (16 << 20));
    limits
}

/// The dimensions in an image file's header, for a sniffed image type;
/// None when it is not an image we read, the header is broken, or the
/// picture is past [`MAX_PIXELS`]. Reads only the header (blocking i/o:
/// call it off the async threads).
pub fn dimensions(path: &Path, content_type: &str) -> Option<Dimensions> {
    let format = format_of(content_type)?;
    let file = std::fs::File::open(path).ok()?;
    let mut reader = ImageReader::with_format(std::io::BufReader::new(file), format);
    reader.limits(limits());
    let (width, height) = reader.into_dimensions().ok()?;
    let pixels = u64::from(width) * u64::from(height);
    (width > 0 && height > 0 && pixels <= MAX_PIXELS).then_some(Dimensions { width, height })
}

/// A thumbnail of the image in `bytes` that fits within `width` × `height`
/// (keeping its proportions, never enlarging), with its content type:
/// JPEG for JPEG sources, PNG otherwise (transparency survives; a GIF
/// gives its first frame). CPU-bound: call it off the async threads.
pub fn thumbnail(
    bytes: &[u8],
    content_type: &str,
    width: u32,
    height: u32,
) -> Result<(Vec<u8>, &'static str), PictureError> {
    let format = format_of(content_type).ok_or(PictureError::Unsupported)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let (w, h) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| PictureError::Decode(e.to_string()))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(PictureError::TooLarge);
    }
    let image = reader
        .decode()
        .map_err(|e| PictureError::Decode(e.to_string()))?;
    let (tw, th) = (
        width.clamp(1, MAX_THUMB_SIDE),
        height.clamp(1, MAX_THUMB_SIDE),
    );
    let small = if w <= tw && h <= th {
        image
    } else {
        image.thumbnail(tw, th)
    };
    let mut out = Cursor::new(Vec::new());
    let kind = if format == ImageFormat::Jpeg {
        small
            .into_rgb8()
            .write_to(&mut out, ImageFormat::Jpeg)
            .map_err(|e| PictureError::Decode(e.to_string()))?;
        "image/jpeg"
    } else {
        small
            .write_to(&mut out, ImageFormat::Png)
            .map_err(|e| PictureError::Decode(e.to_string()))?;
        "image/png"
    };
    Ok((out.into_inner(), kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 10, 10, 255]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn an_image_is_measured_and_shrunk_to_fit_keeping_its_proportions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        std::fs::write(&path, png(400, 200)).unwrap();
        assert_eq!(
            dimensions(&path, "image/png"),
            Some(Dimensions {
                width: 400,
                height: 200
            })
        );
        let (thumb, kind) =
            thumbnail(&std::fs::read(&path).unwrap(), "image/png", 100, 100).unwrap();
        assert_eq!(kind, "image/png");
        let small = image::load_from_memory(&thumb).unwrap();
        assert_eq!((small.width(), small.height()), (100, 50));
    }

    #[test]
    fn a_header_promising_a_huge_picture_is_not_decoded() {
        // A valid PNG header claiming 100000 x 100000 pixels, with no data.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.png");
        std::fs::write(&path, &bomb).unwrap();
        assert_eq!(dimensions(&path, "image/png"), None);
        assert!(thumbnail(&bomb, "image/png", 64, 64).is_err());
    }

    #[test]
    fn what_is_not_an_image_has_no_dimensions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\ngarbage").unwrap();
        assert_eq!(dimensions(&path, "image/png"), None);
        assert_eq!(dimensions(&path, "application/pdf"), None);
    }
}
