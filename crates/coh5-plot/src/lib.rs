//! PNG pictures for coh5: the byte layout of an inspected file ([`layout`]) and the photons of
//! an ICESat-2 subset ([`photons`]). Rendering is plotters' in-memory bitmap backend with a
//! bundled font, so nothing depends on the system's fonts.

pub mod layout;
pub mod palette;
pub mod photons;
mod raster;

pub use palette::Rgb;
pub use raster::Image;

/// Everything that can go wrong while drawing or writing a picture.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("drawing {what}: {detail}")]
    Draw { what: &'static str, detail: String },
    #[error("encoding PNG {path}: {detail}")]
    Encode { path: String, detail: String },
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("nothing to plot: {0}")]
    Empty(String),
}

pub type Result<T> = std::result::Result<T, Error>;
