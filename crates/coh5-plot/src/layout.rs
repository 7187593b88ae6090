//! `coh5 inspect --plot`: the file as a strip from offset 0 to its end, metadata in red over the
//! raw data of the largest variables in their own colours, page boundaries as black ticks.
//!
//! One strip shows the whole file; below it the file is wrapped into [`ROWS`] rows, each a
//! consecutive slice, so metadata scattered between chunks (a libhdf5 default-layout file) is
//! seen as red specks through every row, while a paged file shows one red block at the front.
//! Metadata is drawn last and at least one pixel wide, so no structure disappears between
//! the chunks around it.

use std::collections::HashMap;
use std::ops::Range;

use coh5::inspect::Report;
use plotters::style::{IntoFont, TextStyle};

use crate::palette::{rgb, Rgb, METADATA, OTHER_DATA, PAGE_LINE, SERIES, TEXT, UNUSED};
use crate::raster::{text, Image, FONT};
use crate::{Error, Result};

pub const WIDTH: u32 = 1600;
/// Left edge of every strip (row labels sit to its left).
pub const STRIP_X0: u32 = 110;
pub const STRIP_WIDTH: u32 = WIDTH - STRIP_X0 - 30;
/// Rows of the wrapped view.
pub const ROWS: u32 = 8;
const TITLE_H: u32 = 56;
const OVERVIEW_H: u32 = 56;
/// Space under the overview for its MB axis, and a heading for the rows.
const AXIS_H: u32 = 56;
const ROW_H: u32 = 30;
const ROW_GAP: u32 = 14;
const LEGEND_LINE: u32 = 22;
/// Page boundaries closer than this many pixels are not marked (they would paint the strip
/// black); the legend says so.
const MIN_PAGE_PX: f64 = 4.0;
/// Length of a page-boundary tick above and below a strip.
pub const TICK: u32 = 5;

/// The overview strip's rows of pixels.
pub const OVERVIEW_Y: Range<u32> = TITLE_H..TITLE_H + OVERVIEW_H;

/// One coloured group of raw data in the picture.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub ranges: Vec<Range<u64>>,
}

/// What the picture shows, in file offsets.
#[derive(Debug, Clone)]
pub struct Strip {
    pub title: String,
    pub subtitle: String,
    pub file_size: u64,
    pub page_size: Option<u64>,
    pub metadata: Vec<Range<u64>>,
    /// The largest variables, at most [`SERIES`]`.len()`, each in its own colour.
    pub series: Vec<Series>,
    /// Raw data of every other dataset.
    pub other: Vec<Range<u64>>,
}

impl Strip {
    /// The picture of an inspect report. Datasets are grouped by name across groups (the six
    /// beams' `h_ph` are one colour), and the largest groups by stored bytes get colours.
    pub fn from_report(r: &Report) -> Strip {
        let mut groups: Vec<(String, u64, usize, Vec<Range<u64>>)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for d in r.datasets.iter().filter(|d| !d.raw_ranges.is_empty()) {
            let name = d.path.rsplit('/').next().unwrap_or(&d.path);
            let i = *index.entry(name).or_insert_with(|| {
                groups.push((name.to_string(), 0, 0, Vec::new()));
                groups.len() - 1
            });
            let g = &mut groups[i];
            g.1 += d.stored_bytes;
            g.2 += 1;
            g.3.extend(d.raw_ranges.iter().cloned());
        }
        groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut series = Vec::new();
        let mut other = Vec::new();
        for (k, (name, bytes, count, ranges)) in groups.into_iter().enumerate() {
            if k < SERIES.len() {
                let of = if count > 1 {
                    format!("{count} datasets, ")
                } else {
                    String::new()
                };
                series.push(Series {
                    label: format!("{name} ({of}{})", mb(bytes)),
                    ranges,
                });
            } else {
                other.extend(ranges);
            }
        }
        let s = &r.metadata.spread;
        let name = r.location.rsplit(['/', '\\']).next().unwrap_or(&r.location);
        let paging = match r.file_space.page_size {
            Some(p) => format!("paged, {} pages", mb(p)),
            None => format!("{}, not paged", r.file_space.strategy),
        };
        Strip {
            title: format!(
                "{name}: {}, {paging}, verdict: {}",
                mb(r.format.file_size),
                r.advice.verdict.as_str()
            ),
            subtitle: format!(
                "metadata {} in {} separate ranges ({} 4 KiB blocks), {:.0} % of it in the \
                 first {}",
                mb(s.bytes),
                s.ranges,
                s.blocks_4k,
                percent(s.in_first_page, s.bytes),
                r.file_space
                    .page_size
                    .map_or("4 KiB".to_string(), |p| format!("page ({})", mb(p)))
            ),
            file_size: r.format.file_size,
            page_size: r.file_space.page_size,
            metadata: r.metadata.ranges.clone(),
            series,
            other,
        }
    }
}

/// Pixel of `offset` in the overview strip (its middle row).
pub fn overview_pixel(offset: u64, file_size: u64) -> (u32, u32) {
    (
        STRIP_X0 + scale(offset, file_size.max(1)),
        (OVERVIEW_Y.start + OVERVIEW_Y.end) / 2,
    )
}

/// Pixel of `offset` in the wrapped rows (the middle row of its row).
pub fn row_pixel(offset: u64, file_size: u64) -> (u32, u32) {
    let span = row_span(file_size);
    let row = (offset / span).min(u64::from(ROWS) - 1) as u32;
    let y = row_top(row) + ROW_H / 2;
    (STRIP_X0 + scale(offset - u64::from(row) * span, span), y)
}

fn row_span(file_size: u64) -> u64 {
    file_size.div_ceil(u64::from(ROWS)).max(1)
}

fn row_top(row: u32) -> u32 {
    OVERVIEW_Y.end + AXIS_H + row * (ROW_H + ROW_GAP)
}

/// Pixel column (from the strip's left edge) of `offset` in a strip showing `span` bytes.
fn scale(offset: u64, span: u64) -> u32 {
    let x = (u128::from(offset) * u128::from(STRIP_WIDTH) / u128::from(span.max(1))) as u32;
    x.min(STRIP_WIDTH - 1)
}

/// Draws the picture.
pub fn render(s: &Strip) -> Result<Image> {
    if s.file_size == 0 {
        return Err(Error::Empty("the file is empty".into()));
    }
    let legend_rows = s.series.len() as u32 + 4;
    let height = row_top(ROWS) + 10 + legend_rows * LEGEND_LINE + 10;
    let mut img = Image::new(WIDTH, height);

    let overview = Band {
        start: 0,
        span: s.file_size,
        y: OVERVIEW_Y,
    };
    paint(&mut img, s, &overview);
    let span = row_span(s.file_size);
    let rows: Vec<Band> = (0..ROWS)
        .map(|row| Band {
            start: u64::from(row) * span,
            span,
            y: row_top(row)..row_top(row) + ROW_H,
        })
        .filter(|b| b.start < s.file_size)
        .collect();
    for b in &rows {
        paint(&mut img, s, b);
    }

    let legend_top = row_top(ROWS) + 10;
    let mut swatches: Vec<(Rgb, String)> = vec![(METADATA, "file metadata".to_string())];
    for (k, series) in s.series.iter().enumerate() {
        swatches.push((SERIES[k], series.label.clone()));
    }
    if !s.other.is_empty() {
        swatches.push((OTHER_DATA, "raw data of other datasets".into()));
    }
    swatches.push((UNUSED, "neither (free space, unused page space)".into()));
    for (k, (c, _)) in swatches.iter().enumerate() {
        let y = legend_top + k as u32 * LEGEND_LINE;
        img.fill(STRIP_X0..STRIP_X0 + 28, y + 3..y + 17, *c);
    }
    let page_note = s.page_size.map(|p| {
        let marked = page_px(p, span) >= MIN_PAGE_PX;
        let y = legend_top + swatches.len() as u32 * LEGEND_LINE;
        if marked {
            img.fill(STRIP_X0 + 13..STRIP_X0 + 14, y + 1..y + 19, PAGE_LINE);
        }
        format!(
            "page boundary (every {}){}",
            mb(p),
            if marked { "" } else { ", too close to mark" }
        )
    });

    let ticks = axis_ticks(s.file_size);
    img.draw("the file layout", |area| {
        let ink = rgb(TEXT);
        let title = TextStyle::from((FONT, 20).into_font()).color(&ink);
        let small = TextStyle::from((FONT, 14).into_font()).color(&ink);
        area.draw_text(&s.title, &title, (STRIP_X0 as i32, 8))
            .map_err(text)?;
        area.draw_text(&s.subtitle, &small, (STRIP_X0 as i32, 34))
            .map_err(text)?;
        let mid = |y: &Range<u32>| ((y.start + y.end) / 2 - 8) as i32;
        area.draw_text("whole file", &small, (8, mid(&OVERVIEW_Y)))
            .map_err(text)?;
        for (offset, label) in &ticks {
            let (x, _) = overview_pixel(*offset, s.file_size);
            area.draw_text(label, &small, (x as i32 - 4, OVERVIEW_Y.end as i32 + 8))
                .map_err(text)?;
        }
        area.draw_text(
            &format!(
                "the same in {} rows of {} each (MB = 10^6 bytes)",
                rows.len(),
                mb(span)
            ),
            &small,
            (STRIP_X0 as i32, OVERVIEW_Y.end as i32 + 32),
        )
        .map_err(text)?;
        for b in &rows {
            area.draw_text(&mb(b.start), &small, (8, mid(&b.y)))
                .map_err(text)?;
        }
        for (k, (_, label)) in swatches.iter().enumerate() {
            let y = legend_top + k as u32 * LEGEND_LINE + 2;
            area.draw_text(label, &small, (STRIP_X0 as i32 + 36, y as i32))
                .map_err(text)?;
        }
        if let Some(note) = &page_note {
            let y = legend_top + swatches.len() as u32 * LEGEND_LINE + 2;
            area.draw_text(note, &small, (STRIP_X0 as i32 + 36, y as i32))
                .map_err(text)?;
        }
        Ok(())
    })?;
    // Tick marks under the overview, drawn after the text so labels never cover them.
    for (offset, _) in &ticks {
        let (x, _) = overview_pixel(*offset, s.file_size);
        img.fill(x..x + 1, OVERVIEW_Y.end..OVERVIEW_Y.end + 6, TEXT);
    }
    Ok(img)
}

/// A strip showing the bytes `start .. start + span` on pixel rows `y`.
struct Band {
    start: u64,
    span: u64,
    y: Range<u32>,
}

fn paint(img: &mut Image, s: &Strip, b: &Band) {
    let end = (b.start + b.span).min(s.file_size);
    let x_end = STRIP_X0 + scale(end - b.start, b.span).max(1);
    img.fill(STRIP_X0..x_end, b.y.clone(), UNUSED);
    let mut draw = |ranges: &[Range<u64>], c: Rgb| {
        for r in ranges {
            let (lo, hi) = (r.start.max(b.start), r.end.min(end));
            if lo >= hi {
                continue;
            }
            let x0 = STRIP_X0 + scale(lo - b.start, b.span);
            let x1 = (STRIP_X0 + scale(hi - b.start, b.span)).max(x0 + 1);
            img.fill(x0..x1, b.y.clone(), c);
        }
    };
    draw(&s.other, OTHER_DATA);
    for (k, series) in s.series.iter().enumerate() {
        draw(&series.ranges, SERIES[k]);
    }
    draw(&s.metadata, METADATA);
    if let Some(p) = s.page_size.filter(|&p| page_px(p, b.span) >= MIN_PAGE_PX) {
        // Ticks above and below the strip, so they hide nothing inside it.
        let mut at = b.start.div_ceil(p) * p;
        while at <= end {
            let x = STRIP_X0 + scale(at - b.start, b.span);
            img.fill(x..x + 1, b.y.start - TICK..b.y.start, PAGE_LINE);
            img.fill(x..x + 1, b.y.end..b.y.end + TICK, PAGE_LINE);
            at += p;
        }
    }
}

fn page_px(page: u64, span: u64) -> f64 {
    page as f64 * f64::from(STRIP_WIDTH) / span.max(1) as f64
}

/// About eight round offsets (1, 2 or 5 × 10^k bytes) for the overview's MB axis.
fn axis_ticks(file_size: u64) -> Vec<(u64, String)> {
    let rough = (file_size / 8).max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power)
        .max(1.0) as u64;
    (0..=file_size / step)
        .map(|k| (k * step, mb(k * step)))
        .collect()
}

fn mb(bytes: u64) -> String {
    let v = bytes as f64 / 1e6;
    if bytes == 0 {
        "0 MB".into()
    } else if v >= 100.0 {
        format!("{v:.0} MB")
    } else if v >= 0.1 {
        format!("{v:.1} MB")
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip() -> Strip {
        Strip {
            title: "t".into(),
            subtitle: "s".into(),
            file_size: 16 << 20,
            page_size: Some(4 << 20),
            metadata: vec![0..100_000, 9_000_000..9_000_010],
            series: vec![Series {
                label: "h_ph".into(),
                ranges: std::iter::once(4 << 20..6 << 20).collect(),
            }],
            other: std::iter::once(12 << 20..13 << 20).collect(),
        }
    }

    #[test]
    fn strips_show_each_kind_where_it_is() {
        let s = strip();
        let img = render(&s).expect("render");
        let at = |offset: u64| {
            let (x, y) = overview_pixel(offset, s.file_size);
            img.pixel(x, y).expect("inside")
        };
        assert_eq!(at(1000), METADATA);
        // Ten bytes of metadata still take a pixel.
        assert_eq!(at(9_000_005), METADATA);
        assert_eq!(at(5 << 20), SERIES[0]);
        assert_eq!(at(12_800_000), OTHER_DATA);
        assert_eq!(at(15 << 20), UNUSED);
        let (x, y) = row_pixel(5 << 20, s.file_size);
        assert_eq!(img.pixel(x, y), Some(SERIES[0]));
        let (x, y) = row_pixel(9_000_005, s.file_size);
        assert_eq!(img.pixel(x, y), Some(METADATA));
        // The 8 MiB page boundary is marked above the overview (4 MiB pages are 365 px apart),
        // and no page tick is drawn between them.
        let (x, _) = overview_pixel(8 << 20, s.file_size);
        assert_eq!(img.pixel(x, OVERVIEW_Y.start - 2), Some(PAGE_LINE));
        let (x, _) = overview_pixel(10 << 20, s.file_size);
        assert_ne!(img.pixel(x, OVERVIEW_Y.start - 2), Some(PAGE_LINE));
        // Text was drawn (antialiased, so counted as dark pixels): the title area is not blank.
        let dark = (0..WIDTH)
            .flat_map(|x| (0..TITLE_H).map(move |y| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y).is_some_and(|p| p.iter().all(|&c| c < 100)))
            .count();
        assert!(dark > 50, "{dark} text pixels");
    }

    #[test]
    fn empty_file_is_an_error() {
        let mut s = strip();
        s.file_size = 0;
        assert!(matches!(render(&s), Err(Error::Empty(_))));
    }

    #[test]
    fn ticks_are_round() {
        let t = axis_ticks(6_051_322);
        assert_eq!(t[1], (1_000_000, "1.0 MB".to_string()));
        assert_eq!(t.len(), 7);
    }
}
