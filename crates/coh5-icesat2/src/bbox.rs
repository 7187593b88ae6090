//! The lat/lon box of a subset, which may cross the antimeridian (west > east), with the exact
//! photon test and the coarse test the planner applies to stretches of the reference track.

use crate::error::{Error, Result};

/// A box of longitudes `west..=east` (crossing the antimeridian when `west > east`) and
/// latitudes `south..=north`, in degrees, bounds included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl BBox {
    /// Checks the bounds: longitudes in [-180, 180], latitudes in [-90, 90], south ≤ north.
    pub fn new(west: f64, south: f64, east: f64, north: f64) -> Result<BBox> {
        let lon_ok = |v: f64| (-180.0..=180.0).contains(&v);
        let lat_ok = |v: f64| (-90.0..=90.0).contains(&v);
        if !(lon_ok(west) && lon_ok(east) && lat_ok(south) && lat_ok(north)) || south > north {
            return Err(Error::Request(format!(
                "bad box {west},{south},{east},{north}: want W,S,E,N with longitudes in \
                 [-180, 180], latitudes in [-90, 90] and S <= N"
            )));
        }
        Ok(BBox {
            west,
            south,
            east,
            north,
        })
    }

    /// Parses `W,S,E,N`.
    pub fn parse(text: &str) -> Result<BBox> {
        let v: Vec<f64> = text
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Request(format!("bad box {text:?}: want four numbers W,S,E,N")))?;
        match v[..] {
            [w, s, e, n] => BBox::new(w, s, e, n),
            _ => Err(Error::Request(format!(
                "bad box {text:?}: want four numbers W,S,E,N"
            ))),
        }
    }

    pub fn crosses_antimeridian(&self) -> bool {
        self.west > self.east
    }

    /// The exact test applied to every photon read (bounds included).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let lon_in = if self.crosses_antimeridian() {
            lon >= self.west || lon <= self.east
        } else {
            lon >= self.west && lon <= self.east
        };
        lon_in && lat >= self.south && lat <= self.north
    }

    /// The box grown by `metres` on every side, as a latitude interval and a longitude interval
    /// `west..=east'` unwrapped so that `east' ≥ west` (east' may exceed 180).
    pub(crate) fn padded(&self, metres: f64) -> Padded {
        const METRES_PER_DEGREE: f64 = 111_195.0;
        let dlat = metres / METRES_PER_DEGREE;
        let south = (self.south - dlat).max(-90.0);
        let north = (self.north + dlat).min(90.0);
        // A degree of longitude shrinks with cos(latitude); near the poles the pad is capped
        // rather than divided by ~0.
        let widest = south.abs().max(north.abs()).min(89.0).to_radians().cos();
        let dlon = dlat / widest;
        let east = if self.crosses_antimeridian() {
            self.east + 360.0
        } else {
            self.east
        };
        Padded {
            south,
            north,
            west: self.west - dlon,
            east: east + dlon,
        }
    }
}

/// A padded box in unwrapped longitudes (see [`BBox::padded`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Padded {
    south: f64,
    north: f64,
    west: f64,
    east: f64,
}

impl Padded {
    /// Whether the straight stretch of track between two points may enter the box: the
    /// stretch's lat/lon bounding interval (taking the short way round in longitude) meets it.
    pub fn meets(&self, (lat_a, lon_a): (f64, f64), (lat_b, lon_b): (f64, f64)) -> bool {
        if lat_a.max(lat_b) < self.south || lat_a.min(lat_b) > self.north {
            return false;
        }
        let step = (lon_b - lon_a + 540.0).rem_euclid(360.0) - 180.0;
        let (lo, hi) = (lon_a.min(lon_a + step), lon_a.max(lon_a + step));
        [-360.0, 0.0, 360.0]
            .iter()
            .any(|s| lo + s <= self.east && hi + s >= self.west)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_plain_and_crossing() {
        let b = BBox::parse("-66.5,-68.5,-66.0,-67.0").unwrap();
        assert!(b.contains(-68.0, -66.2));
        assert!(b.contains(-68.5, -66.5), "bounds are inclusive");
        assert!(!b.contains(-68.0, -65.9));
        let c = BBox::parse("179.5,-10,-179.5,10").unwrap();
        assert!(c.crosses_antimeridian());
        assert!(c.contains(0.0, 179.9) && c.contains(0.0, -179.9) && c.contains(0.0, 180.0));
        assert!(!c.contains(0.0, 179.0) && !c.contains(0.0, -179.0) && !c.contains(11.0, 180.0));
    }

    #[test]
    fn rejects_bad_boxes() {
        assert!(BBox::parse("1,2,3").is_err());
        assert!(BBox::parse("0,10,1,5").is_err(), "south above north");
        assert!(BBox::parse("0,0,181,1").is_err());
        assert!(BBox::parse("a,0,1,1").is_err());
    }

    #[test]
    fn stretches_meet_across_the_antimeridian() {
        let c = BBox::parse("179.9,-1,-179.9,1").unwrap().padded(0.0);
        // A stretch from 179.5 to -179.5 passes through the box although neither end is in it.
        assert!(c.meets((0.0, 179.5), (0.0, -179.5)));
        assert!(!c.meets((0.0, 170.0), (0.0, 171.0)));
        let p = BBox::parse("10,0,11,1").unwrap().padded(0.0);
        assert!(
            p.meets((0.5, 9.0), (0.5, 12.0)),
            "a stretch spanning the box"
        );
        assert!(!p.meets((2.0, 9.0), (2.0, 12.0)));
        // A 1 km pad reaches a point 500 m outside.
        let q = BBox::parse("10,0,11,1").unwrap().padded(1000.0);
        assert!(q.meets((1.0045, 10.5), (1.0045, 10.5)));
    }
}
