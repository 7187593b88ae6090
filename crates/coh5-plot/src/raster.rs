//! The RGB canvas plotters draws into, the bundled font, and PNG output.

use std::ops::Range;
use std::sync::OnceLock;

use plotters::backend::BitMapBackend;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::style::FontStyle;

use crate::palette::{Rgb, BACKGROUND};
use crate::{Error, Result};

/// The font family name the pictures use; [`register_font`] binds it to the bundled font.
pub(crate) const FONT: &str = "sans-serif";

/// Registers the bundled font once per process (plotters keeps a global font table).
pub(crate) fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::HACK_REGULAR)
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Draw {
            what: "text",
            detail: "the bundled font does not parse".into(),
        })
    }
}

/// An RGB image, 3 bytes per pixel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Image {
    pub(crate) fn new(width: u32, height: u32) -> Image {
        let mut pixels = vec![0; width as usize * height as usize * 3];
        for p in pixels.chunks_exact_mut(3) {
            p.copy_from_slice(&BACKGROUND);
        }
        Image {
            width,
            height,
            pixels,
        }
    }

    /// Draws with plotters on this image; `what` names the picture in errors.
    pub(crate) fn draw(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
    ) -> Result<()> {
        register_font()?;
        let size = (self.width, self.height);
        let area = BitMapBackend::with_buffer_and_format(&mut self.pixels, size)
            .map_err(|e| Error::Draw {
                what,
                detail: e.to_string(),
            })?
            .into_drawing_area();
        f(&area).map_err(|detail| Error::Draw { what, detail })?;
        area.present().map_err(|e| Error::Draw {
            what,
            detail: e.to_string(),
        })
    }

    /// Paints the pixels `xs` × `ys` (clipped to the image).
    pub(crate) fn fill(&mut self, xs: Range<u32>, ys: Range<u32>, c: Rgb) {
        let w = self.width as usize;
        for y in ys.start..ys.end.min(self.height) {
            for x in xs.start..xs.end.min(self.width) {
                let i = (y as usize * w + x as usize) * 3;
                if let Some(p) = self.pixels.get_mut(i..i + 3) {
                    p.copy_from_slice(&c);
                }
            }
        }
    }

    /// The colour at (x, y), `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgb> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        let p = self.pixels.get(i..i + 3)?;
        Some([p[0], p[1], p[2]])
    }

    /// Writes the image as an 8-bit RGB PNG.
    pub fn save_png(&self, path: &str) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_string(),
            source,
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let encode = |e: png::EncodingError| Error::Encode {
            path: path.to_string(),
            detail: e.to_string(),
        };
        let mut writer = encoder.write_header().map_err(encode)?;
        writer.write_image_data(&self.pixels).map_err(encode)?;
        writer.finish().map_err(encode)
    }
}

/// A plotters error as text (their error types are generic over the backend).
pub(crate) fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
