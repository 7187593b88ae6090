//! The plan of one beam: from its 20 m segment index (reference photon positions and times,
//! `ph_index_beg`, `segment_ph_cnt`; ATL03_SPEC.md §4) to the photon index ranges that can hold
//! an answer, before any photon is read.
//!
//! Every segment's photons lie within a few metres across track of the line through the
//! reference photons, so a segment is a candidate when the stretch of that line from its
//! neighbours to it meets the box grown by [`PAD_METRES`], and (with a time range) when the times
//! of its neighbours and itself meet the range grown by [`PAD_SECONDS`]. Candidates then take one
//! more segment on each side, so no photon near an edge is lost; exactness comes afterwards from
//! the test of every photon read. Segments without photons (`ph_index_beg` = 0) carry no
//! trustworthy position and are left out of the line.

use std::ops::Range;

use crate::bbox::Padded;

/// Slack around the box: photons scatter a few metres around the reference track (the footprint
/// is ~11 m across), far less than this; the cost is a few extra 20 m segments.
pub const PAD_METRES: f64 = 100.0;

/// Slack around a time range: one 20 m segment lasts ~2.8 ms.
pub const PAD_SECONDS: f64 = 0.01;

/// The segment-rate arrays the plan needs, one element per segment.
pub(crate) struct SegmentIndex {
    pub lat: Vec<f64>,
    pub lon: Vec<f64>,
    pub ph_index_beg: Vec<i64>,
    pub segment_ph_cnt: Vec<i64>,
    pub delta_time: Vec<f64>,
}

/// A segment that holds photons: its row and its 0-based photon range.
#[derive(Debug, Clone)]
pub(crate) struct Filled {
    pub row: u64,
    pub photons: Range<u64>,
}

/// What to read of one beam.
#[derive(Debug, Default)]
pub(crate) struct BeamPlan {
    /// Photon index ranges to read, sorted and disjoint.
    pub ranges: Vec<Range<u64>>,
    /// Segment rows whose photons overlap `ranges` (for broadcasting segment variables).
    pub segment_rows: Range<u64>,
    /// The photon-holding segments overlapping `ranges`, in photon order.
    pub filled: Vec<Filled>,
    /// Segments that passed the test (before the one-segment margin).
    pub candidates: usize,
}

impl BeamPlan {
    /// Photons the plan reads.
    pub fn photons(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// For each photon of `ranges` in order, its segment row relative to `segment_rows.start`
    /// (`None` for a photon no segment claims).
    pub fn photon_segments(&self) -> Vec<Option<u32>> {
        let mut out = Vec::with_capacity(self.photons() as usize);
        let mut f = 0;
        for r in &self.ranges {
            for p in r.clone() {
                while f < self.filled.len() && self.filled[f].photons.end <= p {
                    f += 1;
                }
                out.push(self.filled.get(f).and_then(|s| {
                    s.photons
                        .contains(&p)
                        .then(|| u32::try_from(s.row - self.segment_rows.start).ok())
                        .flatten()
                }));
            }
        }
        out
    }
}

/// Plans one beam of `n_photons` photons. `merge_gap`: ranges closer than this (the photon chunk
/// length) are read as one, since the chunk between them is fetched and decoded anyway.
pub(crate) fn plan(
    ix: &SegmentIndex,
    n_photons: u64,
    bbox: &Padded,
    time: Option<(f64, f64)>,
    merge_gap: u64,
) -> Result<BeamPlan, String> {
    let n = ix.lat.len();
    if [
        ix.lon.len(),
        ix.ph_index_beg.len(),
        ix.segment_ph_cnt.len(),
        ix.delta_time.len(),
    ]
    .iter()
    .any(|&m| m != n)
    {
        return Err("segment arrays differ in length".into());
    }
    let filled = filled_segments(ix, n_photons)?;
    let point = |f: &Filled| {
        let r = f.row as usize;
        (ix.lat[r], ix.lon[r])
    };
    let when = |f: &Filled| ix.delta_time[f.row as usize];
    let mut candidate = vec![false; filled.len()];
    for (i, c) in candidate.iter_mut().enumerate() {
        let lo = i.saturating_sub(1);
        let hi = (i + 1).min(filled.len() - 1);
        let here = point(&filled[i]);
        let near = bbox.meets(point(&filled[lo]), here) || bbox.meets(here, point(&filled[hi]));
        let in_time = time.is_none_or(|(t0, t1)| {
            let ts = [when(&filled[lo]), when(&filled[i]), when(&filled[hi])];
            let first = ts.iter().copied().fold(f64::INFINITY, f64::min);
            let last = ts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            first <= t1 + PAD_SECONDS && last >= t0 - PAD_SECONDS
        });
        *c = near && in_time;
    }
    let candidates = candidate.iter().filter(|&&c| c).count();
    // The one-segment margin.
    let marked: Vec<bool> = (0..filled.len())
        .map(|i| {
            candidate[i]
                || (i > 0 && candidate[i - 1])
                || candidate.get(i + 1).copied().unwrap_or(false)
        })
        .collect();
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for (f, _) in filled.iter().zip(&marked).filter(|(_, &m)| m) {
        match ranges.last_mut() {
            Some(last) if f.photons.start <= last.end.saturating_add(merge_gap) => {
                last.end = last.end.max(f.photons.end)
            }
            _ => ranges.push(f.photons.clone()),
        }
    }
    let overlapping: Vec<Filled> = filled
        .into_iter()
        .filter(|f| {
            ranges
                .iter()
                .any(|r| f.photons.start < r.end && r.start < f.photons.end)
        })
        .collect();
    let segment_rows = match (overlapping.first(), overlapping.last()) {
        (Some(a), Some(b)) => a.row..b.row + 1,
        _ => 0..0,
    };
    Ok(BeamPlan {
        ranges,
        segment_rows,
        filled: overlapping,
        candidates,
    })
}

/// The segments holding photons, checked: 1-based `ph_index_beg` (0 only with no photons),
/// ranges inside the photon arrays and in increasing, non-overlapping order.
fn filled_segments(ix: &SegmentIndex, n_photons: u64) -> Result<Vec<Filled>, String> {
    let mut out: Vec<Filled> = Vec::new();
    for (row, (&beg, &cnt)) in ix.ph_index_beg.iter().zip(&ix.segment_ph_cnt).enumerate() {
        if cnt < 0 || beg < 0 {
            return Err(format!(
                "segment {row}: negative ph_index_beg {beg} or segment_ph_cnt {cnt}"
            ));
        }
        if cnt == 0 {
            continue;
        }
        if beg == 0 {
            return Err(format!(
                "segment {row}: ph_index_beg is 0 (fill) but segment_ph_cnt is {cnt}"
            ));
        }
        let start = beg as u64 - 1;
        let end = start + cnt as u64;
        if end > n_photons {
            return Err(format!(
                "segment {row}: photons {start}..{end} beyond the {n_photons} photons of the beam"
            ));
        }
        if out.last().is_some_and(|p| p.photons.end > start) {
            return Err(format!(
                "segment {row}: photons {start}..{end} overlap or precede the previous segment's"
            ));
        }
        out.push(Filled {
            row: row as u64,
            photons: start..end,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bbox::BBox;

    /// Ten segments of 10 photons marching north 0.001° each, segment 4 empty.
    fn index() -> SegmentIndex {
        let cnt: Vec<i64> = (0..10).map(|k| if k == 4 { 0 } else { 10 }).collect();
        let mut beg = Vec::new();
        let mut next = 1;
        for &c in &cnt {
            beg.push(if c == 0 { 0 } else { next });
            next += c;
        }
        SegmentIndex {
            lat: (0..10).map(|k| k as f64 * 0.001).collect(),
            lon: vec![10.0; 10],
            ph_index_beg: beg,
            segment_ph_cnt: cnt,
            delta_time: (0..10).map(|k| k as f64).collect(),
        }
    }

    #[test]
    fn box_becomes_ranges_with_margin() {
        let b = BBox::parse("9.99,0.0062,10.01,0.0068").unwrap().padded(0.0);
        let p = plan(&index(), 90, &b, None, 0).unwrap();
        // The box lies between the reference photons of rows 6 and 7 (photons 50..70): both
        // are candidates, rows 5 and 8 the margin.
        assert_eq!(p.candidates, 2);
        assert_eq!(p.ranges, vec![40..80]);
        assert_eq!(p.segment_rows, 5..9);
        let segs = p.photon_segments();
        assert_eq!(segs.len(), 40);
        assert_eq!((segs[0], segs[39]), (Some(0), Some(3)));
    }

    #[test]
    fn time_range_and_empty_box() {
        let all = BBox::parse("-180,-90,180,90").unwrap().padded(0.0);
        let p = plan(&index(), 90, &all, Some((0.0, 0.5)), 0).unwrap();
        // Rows 0 and 1 are candidates (row 1's neighbour is at t = 0), row 2 the margin.
        assert_eq!(p.ranges, vec![0..30]);
        let none = BBox::parse("50,50,51,51").unwrap().padded(0.0);
        let p = plan(&index(), 90, &none, None, 0).unwrap();
        assert!(p.ranges.is_empty() && p.segment_rows.is_empty());
    }

    #[test]
    fn corrupt_indexes_are_errors() {
        let all = BBox::parse("-180,-90,180,90").unwrap().padded(0.0);
        assert!(
            plan(&index(), 80, &all, None, 0).is_err(),
            "beyond the photons"
        );
        let mut ix = index();
        ix.ph_index_beg[3] = 5;
        assert!(plan(&ix, 90, &all, None, 0).is_err(), "overlap");
        let mut ix = index();
        ix.delta_time.pop();
        assert!(plan(&ix, 90, &all, None, 0).is_err(), "lengths");
    }
}
