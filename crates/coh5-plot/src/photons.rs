//! `coh5 subset --plot`: photon height against latitude along track, coloured by beam or by
//! signal confidence, beside a small map of the box with the photons' ground tracks.

use std::ops::Range;

use plotters::prelude::*;

use crate::palette::{rgb, Rgb, CONFIDENCE, OTHER_DATA, SERIES, TEXT};
use crate::raster::{text, Image, FONT};
use crate::{Error, Result};

pub const WIDTH: u32 = 1400;
pub const HEIGHT: u32 = 720;
/// Width of the profile panel; the map takes the rest.
pub const PROFILE_WIDTH: u32 = 960;
/// More points than this are thinned evenly per series: the picture cannot show more, and
/// drawing millions of markers takes seconds.
const MAX_POINTS: usize = 250_000;
/// The height axis spans these quantiles of the heights (plus a margin) so a few far noise
/// photons do not flatten the surface into a line; photons outside are left out of the profile.
const QUANTILES: (f64, f64) = (0.002, 0.998);

/// The ATL03 beams in a fixed order, so a beam keeps its colour from plot to plot.
const BEAMS: [&str; 6] = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];

/// The photons of one beam (over all granules).
#[derive(Debug, Clone, Default)]
pub struct Track {
    pub beam: String,
    pub lat: Vec<f64>,
    pub lon: Vec<f64>,
    pub h: Vec<f64>,
    /// Signal confidence per photon, when it was filtered on.
    pub conf: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourBy {
    Beam,
    Confidence,
}

#[derive(Debug, Clone)]
pub struct PhotonPlot {
    pub title: String,
    /// The box as west, south, east, north (west > east crosses the antimeridian).
    pub bbox: [f64; 4],
    pub tracks: Vec<Track>,
    pub colour_by: ColourBy,
}

/// The colour of a beam (the six ATL03 beams have fixed colours).
pub fn beam_colour(beam: &str) -> Rgb {
    match BEAMS.iter().position(|b| *b == beam) {
        Some(i) => SERIES[i],
        None => OTHER_DATA,
    }
}

/// The colour of a signal confidence level.
pub fn confidence_colour(level: i64) -> Rgb {
    CONFIDENCE
        .iter()
        .find(|(l, _)| *l == level)
        .map_or(OTHER_DATA, |(_, c)| *c)
}

/// One colour's worth of points.
struct Group {
    label: String,
    colour: Rgb,
    /// (lat, lon, h)
    points: Vec<(f64, f64, f64)>,
}

fn groups(p: &PhotonPlot) -> Result<Vec<Group>> {
    let mut out: Vec<Group> = Vec::new();
    for t in &p.tracks {
        for i in 0..t.lat.len().min(t.lon.len()).min(t.h.len()) {
            let (label, colour) = match p.colour_by {
                ColourBy::Beam => (t.beam.clone(), beam_colour(&t.beam)),
                ColourBy::Confidence => {
                    let level = t.conf.as_ref().and_then(|c| c.get(i)).ok_or_else(|| {
                        Error::Empty(format!("no signal confidence for beam {}", t.beam))
                    })?;
                    (format!("confidence {level}"), confidence_colour(*level))
                }
            };
            let point = (t.lat[i], t.lon[i], t.h[i]);
            if !(point.0.is_finite() && point.1.is_finite() && point.2.is_finite()) {
                continue;
            }
            match out.iter_mut().find(|g| g.label == label) {
                Some(g) => g.points.push(point),
                None => out.push(Group {
                    label,
                    colour,
                    points: vec![point],
                }),
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Empty("no photons in the box".into()));
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    let total: usize = out.iter().map(|g| g.points.len()).sum();
    if total > MAX_POINTS {
        let stride = total.div_ceil(MAX_POINTS);
        for g in &mut out {
            g.points = g.points.iter().step_by(stride).copied().collect();
        }
    }
    Ok(out)
}

/// Draws the picture.
pub fn render(p: &PhotonPlot) -> Result<Image> {
    let groups = groups(p)?;
    let [west, south, east, north] = p.bbox;
    let wraps = west > east;
    // Longitudes east of the antimeridian move by 360° so a crossing box is one rectangle.
    let unwrap = move |lon: f64| {
        if wraps && lon < west {
            lon + 360.0
        } else {
            lon
        }
    };
    let east_u = if wraps { east + 360.0 } else { east };

    let mut heights: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.points.iter().map(|p| p.2))
        .collect();
    heights.sort_by(f64::total_cmp);
    let h = padded(quantile(&heights, QUANTILES.0)..quantile(&heights, QUANTILES.1));
    let lat = padded(south..north);
    let lon = padded(west..east_u);

    let mut img = Image::new(WIDTH, HEIGHT);
    img.draw("the photon plot", |root| {
        let (left, right) = root.split_horizontally(PROFILE_WIDTH);
        let ink = rgb(TEXT);
        let small = (FONT, 14).into_font().color(&ink);
        let mut chart = ChartBuilder::on(&left)
            .caption(&p.title, (FONT, 18).into_font().color(&ink))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(lat.clone(), h.clone())
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("latitude (°)")
            .y_desc("photon height h_ph (m)")
            .label_style(small.clone())
            .axis_desc_style(small.clone())
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(text)?;
        for g in &groups {
            let colour = rgb(g.colour);
            chart
                .draw_series(
                    g.points
                        .iter()
                        .filter(|q| h.contains(&q.2) && lat.contains(&q.0))
                        .map(|q| Circle::new((q.0, q.2), 1, colour.filled())),
                )
                .map_err(text)?
                .label(format!("{} ({} photons)", g.label, g.points.len()))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .label_font(small.clone())
            .background_style(WHITE.mix(0.85))
            .border_style(rgb(TEXT))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(text)?;

        let mut map = ChartBuilder::on(&right)
            .caption("box and ground tracks", (FONT, 16).into_font().color(&ink))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(lon.clone(), lat.clone())
            .map_err(text)?;
        map.configure_mesh()
            .x_desc("longitude (°)")
            .y_desc("latitude (°)")
            .x_labels(4)
            .label_style(small.clone())
            .axis_desc_style(small)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(text)?;
        map.draw_series(std::iter::once(PathElement::new(
            vec![
                (west, south),
                (east_u, south),
                (east_u, north),
                (west, north),
                (west, south),
            ],
            rgb(TEXT).stroke_width(2),
        )))
        .map_err(text)?;
        for g in &groups {
            let colour = rgb(g.colour);
            map.draw_series(
                g.points
                    .iter()
                    .map(|q| Circle::new((unwrap(q.1), q.0), 1, colour.filled())),
            )
            .map_err(text)?;
        }
        Ok(())
    })?;
    Ok(img)
}

/// The value at quantile `q` of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// A range widened by 5 % on each side (and to 1 unit when it is a point).
fn padded(r: Range<f64>) -> Range<f64> {
    let span = (r.end - r.start).abs();
    let pad = if span > 0.0 { span * 0.05 } else { 0.5 };
    r.start.min(r.end) - pad..r.start.max(r.end) + pad
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Photons along a meridian at `lon`, heights 100…150 m shifted by `lon` so tracks of
    /// different beams do not cover each other in the profile.
    fn track(beam: &str, lon: f64, n: usize) -> Track {
        Track {
            beam: beam.into(),
            lat: (0..n).map(|i| -68.0 + i as f64 * 1e-4).collect(),
            lon: vec![lon; n],
            h: (0..n)
                .map(|i| 100.0 + (i % 50) as f64 + lon * 100.0)
                .collect(),
            conf: Some((0..n).map(|i| (i % 5) as i64).collect()),
        }
    }

    fn count(img: &Image, xs: Range<u32>, c: Rgb) -> usize {
        xs.flat_map(|x| (0..HEIGHT).map(move |y| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y) == Some(c))
            .count()
    }

    fn plot(by: ColourBy) -> PhotonPlot {
        PhotonPlot {
            title: "test".into(),
            bbox: [-66.5, -68.5, -66.0, -67.0],
            tracks: vec![track("gt1l", -66.4, 5000), track("gt2l", -66.2, 5000)],
            colour_by: by,
        }
    }

    #[test]
    fn beams_have_their_colours_in_both_panels() {
        let img = render(&plot(ColourBy::Beam)).expect("render");
        assert_eq!((img.width, img.height), (WIDTH, HEIGHT));
        for beam in ["gt1l", "gt2l"] {
            let c = beam_colour(beam);
            assert!(count(&img, 0..PROFILE_WIDTH, c) > 500, "{beam} profile");
            assert!(count(&img, PROFILE_WIDTH..WIDTH, c) > 50, "{beam} map");
        }
        assert_eq!(count(&img, 0..WIDTH, beam_colour("gt3r")), 0);
    }

    #[test]
    fn confidence_levels_have_their_colours() {
        let img = render(&plot(ColourBy::Confidence)).expect("render");
        for level in 0..=4 {
            let c = confidence_colour(level);
            assert!(count(&img, 0..PROFILE_WIDTH, c) > 100, "level {level}");
        }
    }

    #[test]
    fn missing_confidence_and_no_photons_are_errors() {
        let mut p = plot(ColourBy::Confidence);
        p.tracks[0].conf = None;
        assert!(matches!(render(&p), Err(Error::Empty(_))));
        p.tracks.clear();
        assert!(matches!(render(&p), Err(Error::Empty(_))));
    }

    #[test]
    fn antimeridian_box_is_one_rectangle() {
        let mut p = plot(ColourBy::Beam);
        p.bbox = [179.5, -68.5, -179.5, -67.0];
        p.tracks = vec![track("gt1l", 179.8, 2000), track("gt2l", -179.8, 2000)];
        let img = render(&p).expect("render");
        for beam in ["gt1l", "gt2l"] {
            assert!(count(&img, PROFILE_WIDTH..WIDTH, beam_colour(beam)) > 20);
        }
    }
}
