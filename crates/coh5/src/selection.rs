//! Hyperslab selections: per dimension a strided range or a list of indices, as numpy basic and
//! (one-axis) integer indexing express them.

use crate::error::{Error, Result};

/// What is selected along one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DimSelection {
    /// `count` indices `start, start+step, ...` (step ≥ 1).
    Strided { start: u64, count: u64, step: u64 },
    /// Arbitrary indices, in output order (duplicates allowed).
    Indices(Vec<u64>),
}

impl DimSelection {
    pub fn len(&self) -> u64 {
        match self {
            DimSelection::Strided { count, .. } => *count,
            DimSelection::Indices(v) => v.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The selected indices that fall in `[lo, hi)`, as (output position, index - lo) pairs
    /// described compactly when they are strided.
    pub(crate) fn within(&self, lo: u64, hi: u64) -> Part {
        match self {
            DimSelection::Strided { start, count, step } => {
                let end = start + count.saturating_sub(1) * step; // last selected index
                if *count == 0 || hi <= *start || lo > end {
                    return Part::Strided {
                        out: 0,
                        src: 0,
                        step: *step,
                        count: 0,
                    };
                }
                // First k with start + k*step >= lo.
                let k0 = if lo > *start {
                    (lo - start).div_ceil(*step)
                } else {
                    0
                };
                let first = start + k0 * step;
                if first >= hi || k0 >= *count {
                    return Part::Strided {
                        out: 0,
                        src: 0,
                        step: *step,
                        count: 0,
                    };
                }
                let last_in = (hi - 1).min(end);
                let n = (last_in - first) / step + 1;
                Part::Strided {
                    out: k0,
                    src: first - lo,
                    step: *step,
                    count: n,
                }
            }
            DimSelection::Indices(v) => Part::List(
                v.iter()
                    .enumerate()
                    .filter(|(_, &i)| i >= lo && i < hi)
                    .map(|(o, &i)| (o as u64, i - lo))
                    .collect(),
            ),
        }
    }

    /// Smallest and largest selected index.
    fn bounds(&self) -> Option<(u64, u64)> {
        match self {
            DimSelection::Strided { count: 0, .. } => None,
            DimSelection::Strided { start, count, step } => {
                Some((*start, start + (count - 1) * step))
            }
            DimSelection::Indices(v) => Some((*v.iter().min()?, *v.iter().max()?)),
        }
    }
}

/// The part of one dimension's selection that lies in one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Strided {
        out: u64,
        src: u64,
        step: u64,
        count: u64,
    },
    List(Vec<(u64, u64)>),
}

impl Part {
    pub fn is_empty(&self) -> bool {
        match self {
            Part::Strided { count, .. } => *count == 0,
            Part::List(v) => v.is_empty(),
        }
    }
}

/// A selection over every dimension of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub dims: Vec<DimSelection>,
}

impl Selection {
    /// Everything.
    pub fn all(shape: &[u64]) -> Selection {
        Selection {
            dims: shape
                .iter()
                .map(|&n| DimSelection::Strided {
                    start: 0,
                    count: n,
                    step: 1,
                })
                .collect(),
        }
    }

    /// Shape of the result.
    pub fn shape(&self) -> Vec<u64> {
        self.dims.iter().map(DimSelection::len).collect()
    }

    /// Parses numpy-style text: `"0:1000,::2"`, `"5"`, `"-10:"`, `"[1,5,9],:"`. Missing trailing
    /// dimensions select everything; a single integer keeps its dimension (length 1).
    pub fn parse(text: &str, shape: &[u64]) -> Result<Selection> {
        let bad = |why: String| Error::Selection(format!("{text:?}: {why}"));
        let mut parts = Vec::new();
        let mut depth = 0;
        let mut cur = String::new();
        for ch in text.chars() {
            match ch {
                '[' => depth += 1,
                ']' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(ch);
        }
        if !cur.trim().is_empty() || !parts.is_empty() {
            parts.push(cur);
        }
        if parts.len() > shape.len() {
            return Err(bad(format!(
                "{} dimensions given, dataset has {}",
                parts.len(),
                shape.len()
            )));
        }
        let mut dims = Vec::new();
        for (i, &n) in shape.iter().enumerate() {
            let Some(p) = parts.get(i).map(|s| s.trim()) else {
                dims.push(DimSelection::Strided {
                    start: 0,
                    count: n,
                    step: 1,
                });
                continue;
            };
            let resolve = |s: &str| -> Result<i64> {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| bad(format!("{s:?} is not an integer")))
            };
            let clamp = |v: i64| -> u64 {
                if v < 0 {
                    (n as i64 + v).max(0) as u64
                } else {
                    (v as u64).min(n)
                }
            };
            if let Some(list) = p.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                let mut idx = Vec::new();
                for s in list.split(',').filter(|s| !s.trim().is_empty()) {
                    let v = resolve(s)?;
                    let u = if v < 0 { n as i64 + v } else { v };
                    if u < 0 || u as u64 >= n {
                        return Err(bad(format!("index {v} out of range for length {n}")));
                    }
                    idx.push(u as u64);
                }
                dims.push(DimSelection::Indices(idx));
            } else if p.contains(':') {
                let f: Vec<&str> = p.split(':').collect();
                if f.len() > 3 {
                    return Err(bad(format!("{p:?} has too many colons")));
                }
                let step = match f.get(2).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                    Some(s) => resolve(s)?,
                    None => 1,
                };
                if step <= 0 {
                    return Err(bad("steps must be positive".into()));
                }
                let start = match f[0].trim() {
                    "" => 0,
                    s => clamp(resolve(s)?),
                };
                let stop = match f.get(1).map(|s| s.trim()).unwrap_or("") {
                    "" => n,
                    s => clamp(resolve(s)?),
                };
                let count = if stop > start {
                    (stop - start).div_ceil(step as u64)
                } else {
                    0
                };
                dims.push(DimSelection::Strided {
                    start,
                    count,
                    step: step as u64,
                });
            } else if p.is_empty() {
                dims.push(DimSelection::Strided {
                    start: 0,
                    count: n,
                    step: 1,
                });
            } else {
                let v = resolve(p)?;
                let u = if v < 0 { n as i64 + v } else { v };
                if u < 0 || u as u64 >= n {
                    return Err(bad(format!("index {v} out of range for length {n}")));
                }
                dims.push(DimSelection::Strided {
                    start: u as u64,
                    count: 1,
                    step: 1,
                });
            }
        }
        Ok(Selection { dims })
    }

    /// Checks the selection against a dataset shape.
    pub(crate) fn check(&self, shape: &[u64]) -> Result<()> {
        if self.dims.len() != shape.len() {
            return Err(Error::Selection(format!(
                "selection has {} dimensions, dataset has {}",
                self.dims.len(),
                shape.len()
            )));
        }
        for (d, &n) in self.dims.iter().zip(shape) {
            if let Some((_, hi)) = d.bounds() {
                if hi >= n {
                    return Err(Error::Selection(format!("index {hi} beyond extent {n}")));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numpy_forms() {
        let s = Selection::parse("2:10:3, [4, 0], -1", &[20, 5, 7]).unwrap();
        assert_eq!(s.shape(), vec![3, 2, 1]);
        assert_eq!(
            s.dims[0],
            DimSelection::Strided {
                start: 2,
                count: 3,
                step: 3
            }
        );
        assert_eq!(
            s.dims[2],
            DimSelection::Strided {
                start: 6,
                count: 1,
                step: 1
            }
        );
        assert_eq!(Selection::parse("", &[4]).unwrap().shape(), vec![4]);
        assert!(Selection::parse("::0", &[4]).is_err());
        assert!(Selection::parse("9", &[4]).is_err());
    }

    #[test]
    fn strided_parts_within_chunks() {
        let d = DimSelection::Strided {
            start: 3,
            count: 5,
            step: 4,
        }; // 3 7 11 15 19
        assert_eq!(
            d.within(0, 10),
            Part::Strided {
                out: 0,
                src: 3,
                step: 4,
                count: 2
            }
        );
        assert_eq!(
            d.within(10, 20),
            Part::Strided {
                out: 2,
                src: 1,
                step: 4,
                count: 3
            }
        );
        assert!(d.within(20, 30).is_empty());
        assert!(d.within(12, 15).is_empty());
    }
}
