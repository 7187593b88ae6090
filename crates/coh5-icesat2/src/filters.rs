//! The photon classification filters: `signal_conf_ph` (v6 and v7; one column per surface type)
//! and `signal_class_ph` (v7 only), and the time range (photon `delta_time`).

use coh5::format::message::mtime::days_from_civil;

use crate::error::{Error, Result};

/// The surface types of `signal_conf_ph`'s five columns, in column order (ATL03_SPEC.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Land,
    Ocean,
    SeaIce,
    LandIce,
    InlandWater,
}

impl Surface {
    pub fn parse(text: &str) -> Result<Surface> {
        Ok(match text.trim() {
            "land" => Surface::Land,
            "ocean" => Surface::Ocean,
            "sea_ice" => Surface::SeaIce,
            "land_ice" => Surface::LandIce,
            "inland_water" => Surface::InlandWater,
            other => {
                return Err(Error::Request(format!(
                    "unknown surface {other:?}: want land, ocean, sea_ice, land_ice or inland_water"
                )))
            }
        })
    }

    /// The column of `signal_conf_ph`.
    pub fn column(self) -> u64 {
        self as u64
    }
}

/// Keep photons whose signal confidence is one of `levels` (-2 TEP, -1 not considered, 0 noise,
/// 1 buffer, 2 low, 3 medium, 4 high) for `surface`, or, without one, whose highest confidence
/// over all surface types is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalConf {
    pub levels: Vec<i64>,
    pub surface: Option<Surface>,
}

/// Parses a comma list of small integers (`3,4`).
pub fn parse_levels(text: &str) -> Result<Vec<i64>> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| Error::Request(format!("bad level {s:?} in {text:?}: want integers")))
        })
        .collect()
}

/// A closed interval of `delta_time` (seconds since 2018-01-01T00:00:00Z, the ATLAS SDP epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    pub start: f64,
    pub end: f64,
}

impl TimeRange {
    /// Parses `START,END`, each either seconds of `delta_time` or a UTC date-time
    /// `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]`.
    pub fn parse(text: &str) -> Result<TimeRange> {
        let bad = |why: &str| Error::Request(format!("bad time range {text:?}: {why}"));
        let (a, b) = text.split_once(',').ok_or_else(|| bad("want START,END"))?;
        let start = parse_instant(a.trim()).ok_or_else(|| bad("cannot read START"))?;
        let end = parse_instant(b.trim()).ok_or_else(|| bad("cannot read END"))?;
        if start > end {
            return Err(bad("START is after END"));
        }
        Ok(TimeRange { start, end })
    }
}

/// Seconds since 2018-01-01T00:00:00Z. No leap second has been inserted since 2016-12-31, so
/// UTC seconds since the epoch equal ATL03's GPS-based `delta_time`.
fn parse_instant(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, clock) = s.split_once('T').unwrap_or((s, "00:00"));
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut c = clock.splitn(3, ':');
    let hour: f64 = c.next()?.parse().ok()?;
    let minute: f64 = c.next()?.parse().ok()?;
    let second: f64 = c.next().map_or(Some(0.0), |v| v.parse().ok())?;
    if !(0.0..24.0).contains(&hour)
        || !(0.0..60.0).contains(&minute)
        || !(0.0..61.0).contains(&second)
    {
        return None;
    }
    let days = days_from_civil(year, month, day) - days_from_civil(2018, 1, 1);
    Some(days as f64 * 86_400.0 + hour * 3600.0 + minute * 60.0 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = TimeRange::parse("2018-01-02,2018-01-02T00:00:01.5Z").unwrap();
        assert_eq!((t.start, t.end), (86_400.0, 86_401.5));
        assert_eq!(parse_instant("2024-03-01T12:00:00"), Some(194_529_600.0));
        assert_eq!(parse_instant("12.5"), Some(12.5));
        assert!(TimeRange::parse("5,4").is_err());
        assert!(TimeRange::parse("2018-13-01,2019-01-01").is_err());
    }

    #[test]
    fn surfaces_and_levels() {
        assert_eq!(Surface::parse("sea_ice").unwrap().column(), 2);
        assert!(Surface::parse("desert").is_err());
        assert_eq!(parse_levels("3, 4").unwrap(), vec![3, 4]);
        assert!(parse_levels("high").is_err());
    }
}
