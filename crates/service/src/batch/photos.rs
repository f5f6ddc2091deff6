//! Photos (R-CMP-5): what a machine can check — format, pixel size, aspect ratio and a
//! light background — by the region's dated numbers; the rest (frontal, bare-headed …)
//! is a clerk's confirmation. A photo that passes becomes the person's photo digest
//! (SM3 of the file), recorded as an information change.

use serde::Serialize;
use sm3::{Digest, Sm3};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::identity::Ssn;

use crate::{PersonChangeRequest, Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoCheck {
    /// `png` or `jpeg`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    /// Mean brightness (0-255) of the photo's border.
    pub background_brightness: u32,
    pub passed: bool,
    /// Why the photo was not accepted, one reason per failed check.
    pub reasons: Vec<String>,
    /// What a clerk still confirms by eye.
    pub clerk_confirms: String,
    /// The photo's SM3 digest, kept on the person when it passed.
    pub digest: String,
}

/// Decoded pixels as RGB, one byte per channel.
struct Image {
    format: &'static str,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

fn unreadable(what: impl std::fmt::Display) -> Refusal {
    Refusal::bad_input("unreadable_photo", format!("the photo cannot be read: {what}"))
}

fn decode(bytes: &[u8]) -> Result<Image, Refusal> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(unreadable)?;
        let size = reader.output_buffer_size().ok_or_else(|| unreadable("image too large"))?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(unreadable)?;
        let channels = info.color_type.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| match channels {
                1 | 2 => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        return Ok(Image { format: "png", width: info.width, height: info.height, rgb });
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut decoder = jpeg_decoder::Decoder::new(bytes);
        let pixels = decoder.decode().map_err(unreadable)?;
        let info = decoder.info().ok_or_else(|| unreadable("no image information"))?;
        let rgb = match info.pixel_format {
            jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|l| [*l, *l, *l]).collect(),
            jpeg_decoder::PixelFormat::RGB24 => pixels,
            other => return Err(unreadable(format!("unsupported colour format {other:?}"))),
        };
        return Ok(Image { format: "jpeg", width: u32::from(info.width), height: u32::from(info.height), rgb });
    }
    Err(Refusal::bad_input("unsupported_photo_format", "the photo must be a JPEG or PNG file"))
}

/// Mean brightness of the top tenth and the left and right twentieths of the image.
fn border_brightness(img: &Image) -> u32 {
    let (w, h) = (img.width as usize, img.height as usize);
    let (top, side) = ((h / 10).max(1), (w / 20).max(1));
    let mut sum: u64 = 0;
    let mut n: u64 = 0;
    for y in 0..h {
        for x in 0..w {
            if y < top || x < side || x >= w - side {
                let i = (y * w + x) * 3;
                let (r, g, b) = (u64::from(img.rgb[i]), u64::from(img.rgb[i + 1]), u64::from(img.rgb[i + 2]));
                sum += (299 * r + 587 * g + 114 * b) / 1000;
                n += 1;
            }
        }
    }
    sum.checked_div(n).unwrap_or(0) as u32
}

impl Service {
    /// Checks an uploaded photo against the person's region's rules; a photo that passes
    /// becomes the person's photo (the unit for its people, the holder, a clerk).
    pub async fn upload_photo(&self, who: &Principal, ssn: &str, bytes: &[u8]) -> ServiceResult<PhotoCheck> {
        who.allow(Operation::UploadPhoto)?;
        self.get_person(who, ssn).await?;
        let parsed = Ssn::parse(ssn)?;
        let person = self.require_person(&parsed).await?;
        let policy = self.policies.region(&person.region)?;
        let today = self.clock.today();
        let p = |e: yikatong_core::policy::PolicyError| ServiceError::from(e);
        let formats = match &policy.value_at("photo.formats", today).map_err(p)?.value {
            yikatong_core::policy::PolicyValue::Text(t) => t.clone(),
            _ => String::new(),
        };
        let img = decode(bytes)?;
        let mut reasons = Vec::new();
        if !formats.split(',').any(|f| f.trim() == img.format) {
            reasons.push(format!("format {} is not accepted here ({formats})", img.format));
        }
        let (min_w, min_h) = (policy.count("photo.min_width_px", today).map_err(p)?, policy.count("photo.min_height_px", today).map_err(p)?);
        if img.width < min_w || img.height < min_h {
            reasons.push(format!("{} × {} px is smaller than {min_w} × {min_h} px", img.width, img.height));
        }
        let aspect = (u64::from(img.width) * 10_000 / u64::from(img.height.max(1))) as u32;
        let (lo, hi) = (policy.ratio("photo.aspect_min", today).map_err(p)?.0, policy.ratio("photo.aspect_max", today).map_err(p)?.0);
        if aspect < lo || aspect > hi {
            reasons.push(format!("width / height is {}.{:04}, outside {}.{:04}-{}.{:04}", aspect / 10_000, aspect % 10_000, lo / 10_000, lo % 10_000, hi / 10_000, hi % 10_000));
        }
        let brightness = border_brightness(&img);
        let min_bright = policy.count("photo.background_min_brightness", today).map_err(p)?;
        if brightness < min_bright {
            reasons.push(format!("the background is too dark ({brightness} of 255, at least {min_bright})"));
        }
        let clerk_confirms = match policy.value_at("photo.rules", today).map(|v| v.value.clone()) {
            Ok(yikatong_core::policy::PolicyValue::Text(t)) => t,
            _ => String::new(),
        };
        let digest = hex::encode(Sm3::digest(bytes));
        let passed = reasons.is_empty();
        if passed {
            let bureau = Principal::bureau(who.token_id);
            match self.change_person(&bureau, ssn, &PersonChangeRequest { photo_digest: Some(digest.clone()), ..Default::default() }).await {
                Ok(_) => {}
                Err(ServiceError::Refused(r)) if r.code == "no_change" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(PhotoCheck { format: img.format.into(), width: img.width, height: img.height, background_brightness: brightness, passed, reasons, clerk_confirms, digest })
    }
}
