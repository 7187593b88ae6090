//! Which of the six ground-track beams to read: named ones, or the strong or weak three, which
//! depend on the spacecraft orientation (`/orbit_info/sc_orient`: in forward orientation the
//! left beams are weak, backward the left beams are strong; ATL03_SPEC.md §2).

use crate::error::{Error, Result};

/// The beam groups of an ATL03 granule, in file order.
pub const BEAMS: [&str; 6] = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];

/// A choice of beams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beams {
    All,
    Strong,
    Weak,
    /// Named beams (each one of [`BEAMS`]), in the order given.
    Named(Vec<String>),
}

impl Beams {
    /// Parses `all`, `strong`, `weak` or a comma list such as `gt1l,gt2r`.
    pub fn parse(text: &str) -> Result<Beams> {
        match text.trim() {
            "all" => return Ok(Beams::All),
            "strong" => return Ok(Beams::Strong),
            "weak" => return Ok(Beams::Weak),
            _ => {}
        }
        let mut named: Vec<String> = Vec::new();
        for b in text.split(',').map(str::trim) {
            if !BEAMS.contains(&b) {
                return Err(Error::Request(format!(
                    "unknown beam {b:?}: want all, strong, weak or a list of {}",
                    BEAMS.join(", ")
                )));
            }
            if !named.iter().any(|n| n == b) {
                named.push(b.to_string());
            }
        }
        Ok(Beams::Named(named))
    }

    /// The chosen beam names; `sc_orient` is the value of `/orbit_info/sc_orient` (0 backward,
    /// 1 forward, 2 in transition), needed only for strong/weak.
    pub(crate) fn resolve(
        &self,
        sc_orient: Option<i64>,
    ) -> std::result::Result<Vec<String>, String> {
        let strong_left = match (self, sc_orient) {
            (Beams::All, _) => return Ok(BEAMS.iter().map(|s| s.to_string()).collect()),
            (Beams::Named(v), _) => return Ok(v.clone()),
            (_, Some(0)) => true,
            (_, Some(1)) => false,
            (_, Some(o)) => {
                return Err(format!(
                    "sc_orient is {o} (2 = in transition): strong and weak beams are undefined; \
                     name the beams instead"
                ))
            }
            (_, None) => return Err("sc_orient was not read".into()),
        };
        let want_strong = *self == Beams::Strong;
        Ok(BEAMS
            .iter()
            .filter(|b| (b.ends_with('l') == strong_left) == want_strong)
            .map(|s| s.to_string())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_and_weak_follow_orientation() {
        let forward = Beams::Strong.resolve(Some(1)).unwrap();
        assert_eq!(forward, ["gt1r", "gt2r", "gt3r"]);
        assert_eq!(
            Beams::Weak.resolve(Some(1)).unwrap(),
            ["gt1l", "gt2l", "gt3l"]
        );
        assert_eq!(
            Beams::Strong.resolve(Some(0)).unwrap(),
            ["gt1l", "gt2l", "gt3l"]
        );
        assert!(Beams::Weak.resolve(Some(2)).is_err());
    }

    #[test]
    fn parse_lists() {
        assert_eq!(
            Beams::parse("gt2r, gt1l,gt2r").unwrap(),
            Beams::Named(vec!["gt2r".into(), "gt1l".into()])
        );
        assert_eq!(Beams::parse("all").unwrap(), Beams::All);
        assert!(Beams::parse("gt4l").is_err());
    }
}
