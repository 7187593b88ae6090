//! Deterministic fault planning: decides, per request, whether to answer with an error and
//! whether (and where) to break the body. Draws come from a small counter-based generator keyed
//! by the seed, the request's identity and its repeat count, so the same client workload gets
//! the same faults on every run regardless of how its requests interleave.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::Faults;

/// Distinct requests remembered for repeat counts; past this the table restarts (a run that
/// long gives up exact reproducibility rather than memory).
const MAX_TRACKED: usize = 1 << 20;

/// An injected error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorFault {
    /// `503 SlowDown`, S3's throttling answer.
    SlowDown,
    /// `500 InternalError`.
    Internal,
}

/// How a response body is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFault {
    Reset,
    Truncate,
    Stall(Duration),
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    pub error: Option<ErrorFault>,
    /// The body fault and a random number choosing where in the body it strikes.
    pub body: Option<(BodyFault, u64)>,
}

impl Plan {
    /// The body offset at which the body fault strikes, strictly inside a body of `len` bytes
    /// (so at least one byte is still owed), or `None` when the body is empty.
    pub fn body_fault_at(&self, len: u64) -> Option<(BodyFault, u64)> {
        let (fault, draw) = self.body?;
        draw.checked_rem(len).map(|at| (fault, at))
    }
}

#[derive(Debug)]
pub(crate) struct Planner {
    faults: Faults,
    seen: Mutex<HashMap<u64, u64>>,
}

/// FNV-1a: a stable hash (std's hasher may change between releases, which would change runs).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 step: a well-mixed 64-bit sequence from a counter.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)`.
fn unit(state: &mut u64) -> f64 {
    (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
}

impl Planner {
    pub fn new(faults: Faults) -> Self {
        Planner {
            faults,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Plans the faults of one request, identified by its method, path with query, and Range
    /// header.
    pub fn plan(&self, method: &str, path_and_query: &str, range: &str) -> Plan {
        if !self.faults.any() {
            return Plan::default();
        }
        let id = fnv1a(&[
            method.as_bytes(),
            path_and_query.as_bytes(),
            range.as_bytes(),
        ]);
        let repeat = {
            // Poison cannot leave the map inconsistent (single insert), so keep using it.
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() >= MAX_TRACKED && !seen.contains_key(&id) {
                seen.clear();
            }
            let count = seen.entry(id).or_default();
            *count += 1;
            *count
        };
        let mut state = self.faults.seed ^ id ^ repeat.wrapping_mul(0xd1b5_4a32_d192_ed03);
        // Always draw every number so one rate does not shift the others' outcomes.
        let error_draw = unit(&mut state);
        let error_kind = splitmix(&mut state);
        let reset_draw = unit(&mut state);
        let truncate_draw = unit(&mut state);
        let stall_draw = unit(&mut state);
        let position = splitmix(&mut state);
        let f = &self.faults;
        let error = (error_draw < f.error_rate).then_some(if error_kind & 1 == 0 {
            ErrorFault::SlowDown
        } else {
            ErrorFault::Internal
        });
        let body = if reset_draw < f.reset_rate {
            Some(BodyFault::Reset)
        } else if truncate_draw < f.truncate_rate {
            Some(BodyFault::Truncate)
        } else if stall_draw < f.stall_rate {
            Some(BodyFault::Stall(f.stall))
        } else {
            None
        };
        Plan {
            error,
            body: body.map(|b| (b, position)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planner(rate: f64) -> Planner {
        Planner::new(Faults {
            seed: 7,
            error_rate: rate,
            reset_rate: rate,
            truncate_rate: rate,
            stall_rate: rate,
            stall: Duration::from_millis(1),
        })
    }

    #[test]
    fn same_seed_same_plans() {
        let (a, b) = (planner(0.3), planner(0.3));
        for i in 0..200 {
            let path = format!("/b/k{}", i % 17);
            assert_eq!(a.plan("GET", &path, ""), b.plan("GET", &path, ""));
        }
    }

    #[test]
    fn rates_are_respected() {
        let p = planner(0.25);
        let n = 20_000;
        let errors = (0..n)
            .filter(|i| p.plan("GET", &format!("/b/{i}"), "").error.is_some())
            .count();
        let share = errors as f64 / n as f64;
        assert!((0.23..0.27).contains(&share), "error share {share}");
        let none = planner(0.0);
        assert_eq!(none.plan("GET", "/b/k", ""), Plan::default());
        let all = planner(1.0);
        let plan = all.plan("GET", "/b/k", "");
        assert!(plan.error.is_some());
        assert_eq!(plan.body.map(|b| b.0), Some(BodyFault::Reset));
    }

    #[test]
    fn repeats_draw_afresh() {
        let p = planner(0.5);
        let plans: Vec<_> = (0..64)
            .map(|_| p.plan("GET", "/b/k", "bytes=0-9"))
            .collect();
        assert!(plans.iter().any(|x| x.error.is_some()));
        assert!(plans.iter().any(|x| x.error.is_none()));
    }

    #[test]
    fn fault_position_inside_body() {
        let plan = Plan {
            error: None,
            body: Some((BodyFault::Truncate, u64::MAX)),
        };
        assert_eq!(plan.body_fault_at(0), None);
        assert_eq!(plan.body_fault_at(10), Some((BodyFault::Truncate, 5)));
    }
}
