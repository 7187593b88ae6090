//! The colours of the pictures: fixed, so a reader learns them once, and distinct enough that a
//! test can tell them apart pixel by pixel.

use plotters::style::RGBColor;

/// An RGB colour as stored in the PNG.
pub type Rgb = [u8; 3];

pub const BACKGROUND: Rgb = [255, 255, 255];
pub const TEXT: Rgb = [20, 20, 20];
/// File metadata: the one loud colour of the layout strip.
pub const METADATA: Rgb = [220, 20, 60];
/// Raw data of datasets outside the largest few.
pub const OTHER_DATA: Rgb = [170, 170, 170];
/// Bytes that are neither metadata nor raw data (free space, unused page tails).
pub const UNUSED: Rgb = [238, 238, 238];
pub const PAGE_LINE: Rgb = [0, 0, 0];

/// Series colours (Tableau-like, red left out because metadata owns it).
pub const SERIES: [Rgb; 8] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [188, 189, 34],
    [23, 190, 207],
];

/// The ATL03 signal confidence levels −2…4 (TEP, noise, buffer, low, medium, high), from
/// grey to dark red.
pub const CONFIDENCE: [(i64, Rgb); 7] = [
    (-2, [190, 190, 190]),
    (-1, [150, 150, 150]),
    (0, [120, 120, 120]),
    (1, [66, 146, 198]),
    (2, [254, 196, 79]),
    (3, [236, 112, 20]),
    (4, [153, 0, 13]),
];

pub fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}
