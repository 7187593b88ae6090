//! Floating-point bit layouts of the Datatype message (IV.A.2.d, class 1): which NumPy float
//! h5py maps a layout to, and the conversion of stored values to that float (SPEC.md 6.1, 8).
//!
//! h5py tries float16, float32, float64 and the x86-64 long double in turn and takes the first
//! one at least as wide as the stored type whose mantissa and exponent range hold the stored
//! layout; libhdf5 then converts each value to it. Because the chosen float always has room
//! for the stored one, the conversion is exact except for rounding into the long double.

use super::{ByteOrder, Datatype, TypeClass};

/// A NumPy float as laid out in memory on x86-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumpyFloat {
    /// IEEE binary16 (`f2`).
    Half,
    /// IEEE binary32 (`f4`).
    Single,
    /// IEEE binary64 (`f8`).
    Double,
    /// x87 80-bit extended precision padded to 16 bytes (`f16`, platform dependent).
    Extended,
}

struct Target {
    size: u32,
    /// Mantissa bits h5py counts (numpy's `nmant`, plus the explicit bit of the x87 format).
    nmant: u32,
    maxexp: i64,
    minexp: i64,
    exp_bits: u32,
    /// Stored fraction bits, without the leading integer bit.
    frac_bits: u32,
    /// The leading mantissa bit is stored (x87) rather than implied.
    explicit: bool,
}

impl NumpyFloat {
    const ALL: [NumpyFloat; 4] = [
        NumpyFloat::Half,
        NumpyFloat::Single,
        NumpyFloat::Double,
        NumpyFloat::Extended,
    ];

    fn target(self) -> Target {
        match self {
            NumpyFloat::Half => Target {
                size: 2,
                nmant: 10,
                maxexp: 16,
                minexp: -14,
                exp_bits: 5,
                frac_bits: 10,
                explicit: false,
            },
            NumpyFloat::Single => Target {
                size: 4,
                nmant: 23,
                maxexp: 128,
                minexp: -126,
                exp_bits: 8,
                frac_bits: 23,
                explicit: false,
            },
            NumpyFloat::Double => Target {
                size: 8,
                nmant: 52,
                maxexp: 1024,
                minexp: -1022,
                exp_bits: 11,
                frac_bits: 52,
                explicit: false,
            },
            NumpyFloat::Extended => Target {
                size: 16,
                nmant: 64,
                maxexp: 16384,
                minexp: -16382,
                exp_bits: 15,
                frac_bits: 63,
                explicit: true,
            },
        }
    }

    /// Bytes of one value in memory.
    pub fn size(self) -> u32 {
        self.target().size
    }
}

/// The bit fields of one floating-point datatype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatLayout {
    pub size: u32,
    pub order: ByteOrder,
    pub sign_pos: u8,
    pub exp_pos: u8,
    pub exp_size: u8,
    pub mant_pos: u8,
    pub mant_size: u8,
    pub exp_bias: u32,
    pub mant_norm: u8,
}

/// The value of one stored float, exact.
enum Value {
    Zero {
        neg: bool,
    },
    Inf {
        neg: bool,
    },
    NaN {
        neg: bool,
    },
    /// `mant * 2^exp`, `mant != 0`.
    Finite {
        neg: bool,
        mant: u128,
        exp: i64,
    },
}

impl FloatLayout {
    /// The layout of a floating-point type; `None` for other classes.
    pub fn of(dt: &Datatype) -> Option<FloatLayout> {
        match dt.class {
            TypeClass::FloatingPoint {
                order,
                sign_pos,
                exp_pos,
                exp_size,
                mant_pos,
                mant_size,
                exp_bias,
                mant_norm,
                ..
            } => Some(FloatLayout {
                size: dt.size,
                order,
                sign_pos,
                exp_pos,
                exp_size,
                mant_pos,
                mant_size,
                exp_bias,
                mant_norm,
            }),
            _ => None,
        }
    }

    /// The NumPy float h5py maps this layout to (byte order aside), or why there is none.
    pub fn numpy_float(&self) -> Result<NumpyFloat, String> {
        let bias = i64::from(self.exp_bias);
        // 2^exp_size beyond 2^62 exceeds every candidate's range anyway.
        let top = if self.exp_size > 62 {
            i64::MAX
        } else {
            (1i64 << self.exp_size) - bias - 1
        };
        NumpyFloat::ALL
            .into_iter()
            .find(|f| {
                let t = f.target();
                t.size >= self.size
                    && u32::from(self.mant_size) <= t.nmant
                    && top <= t.maxexp
                    && 1 - bias >= t.minexp
            })
            .ok_or_else(|| {
                format!(
                    "Insufficient precision in available types to represent ({}, {}, {}, {}, {})",
                    self.sign_pos, self.exp_pos, self.exp_size, self.mant_pos, self.mant_size
                )
            })
    }

    /// True when the stored bits already are `f` (IEEE layout), so only byte order changes.
    fn is_native(&self, f: NumpyFloat) -> bool {
        let t = f.target();
        !t.explicit
            && self.size == t.size
            && u32::from(self.sign_pos) == t.size * 8 - 1
            && u32::from(self.exp_pos) == t.frac_bits
            && u32::from(self.exp_size) == t.exp_bits
            && self.mant_pos == 0
            && u32::from(self.mant_size) == t.frac_bits
            && self.exp_bias == (1 << (t.exp_bits - 1)) - 1
            && self.mant_norm == 2
    }

    /// The x86-64 `long double` layout (80-bit x87 in 16 bytes). libhdf5 converts such data to
    /// the native type by copying (or byte-swapping) all 16 bytes, padding included, so the
    /// padding that the file holds is what a reader returns.
    fn is_x87_long_double(&self, f: NumpyFloat) -> bool {
        f == NumpyFloat::Extended
            && self.size == 16
            && self.sign_pos == 79
            && self.exp_pos == 64
            && self.exp_size == 15
            && self.mant_pos == 0
            && self.mant_size == 64
            && self.exp_bias == 16383
    }

    /// Appends `stored` (one element of this layout, `self.size` bytes) converted to the
    /// little-endian bytes of `f`, which must come from [`Self::numpy_float`].
    pub fn convert(&self, stored: &[u8], f: NumpyFloat, out: &mut Vec<u8>) {
        let le = self.little_endian(stored);
        if self.is_native(f) || self.is_x87_long_double(f) {
            out.extend_from_slice(&le);
            return;
        }
        let mut raw = [0u8; 16];
        let n = le.len().min(16);
        raw[..n].copy_from_slice(&le[..n]);
        let bits = encode(self.decode(u128::from_le_bytes(raw)), f);
        let size = f.size() as usize;
        out.extend_from_slice(&bits.to_le_bytes()[..size]);
    }

    /// The element's bytes in little-endian order.
    fn little_endian(&self, stored: &[u8]) -> Vec<u8> {
        let mut b = stored.to_vec();
        match self.order {
            ByteOrder::Little => {}
            ByteOrder::Big => b.reverse(),
            // libhdf5 turns VAX order into little-endian by reversing the 16-bit words.
            ByteOrder::Vax => {
                let words = stored.chunks_exact(2);
                if words.remainder().is_empty() {
                    b = words.rev().flatten().copied().collect();
                }
            }
        }
        b
    }

    fn decode(&self, raw: u128) -> Value {
        let field = |pos: u8, len: u8| -> u128 {
            if pos >= 128 {
                return 0;
            }
            let v = raw >> pos;
            if len >= 128 {
                v
            } else {
                v & ((1u128 << len) - 1)
            }
        };
        let neg = field(self.sign_pos, 1) != 0;
        // numpy_float() admits at most 15 exponent and 64 mantissa bits, so these fit.
        let e = field(self.exp_pos, self.exp_size.min(62)) as i64;
        let m = field(self.mant_pos, self.mant_size.min(126));
        let msize = i64::from(self.mant_size.min(126));
        let bias = i64::from(self.exp_bias);
        let implied = self.mant_norm == 2;
        if e == (1i64 << self.exp_size.min(62)) - 1 {
            let frac = if implied || msize == 0 {
                m
            } else {
                m & ((1u128 << (msize - 1)) - 1)
            };
            return if frac == 0 {
                Value::Inf { neg }
            } else {
                Value::NaN { neg }
            };
        }
        let (mant, exp) = if implied {
            if e == 0 {
                (m, 1 - bias - msize)
            } else {
                (m | 1u128 << msize, e - bias - msize)
            }
        } else {
            // The leading bit is stored: m is an integer with msize-1 fraction bits.
            (m, e.max(1) - bias - (msize - 1))
        };
        if mant == 0 {
            Value::Zero { neg }
        } else {
            Value::Finite { neg, mant, exp }
        }
    }
}

/// `m / 2^s` rounded to nearest, ties to even.
fn shift_round(m: u128, s: i64) -> u128 {
    if s <= 0 {
        return m;
    }
    if s >= 128 {
        return 0;
    }
    let q = m >> s;
    let rem = m & ((1u128 << s) - 1);
    let half = 1u128 << (s - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// The bits of `v` in the layout of `f`.
fn encode(v: Value, f: NumpyFloat) -> u128 {
    let t = f.target();
    let mant_bits = t.frac_bits + u32::from(t.explicit);
    let sign_bit = |neg: bool| u128::from(neg) << (t.exp_bits + mant_bits);
    let exp_max = (1u128 << t.exp_bits) - 1;
    let lead = if t.explicit { 1u128 << t.frac_bits } else { 0 };
    match v {
        Value::Zero { neg } => sign_bit(neg),
        Value::Inf { neg } => sign_bit(neg) | exp_max << mant_bits | lead,
        Value::NaN { neg } => {
            sign_bit(neg) | exp_max << mant_bits | lead | 1u128 << (t.frac_bits - 1)
        }
        Value::Finite { neg, mant, exp } => {
            let frac_bits = i64::from(t.frac_bits);
            let bias = (1i64 << (t.exp_bits - 1)) - 1;
            let top = 127 - i64::from(mant.leading_zeros());
            let mut biased = top.saturating_add(exp).saturating_add(bias);
            if biased >= 1 {
                let mut m = if top > frac_bits {
                    shift_round(mant, top - frac_bits)
                } else {
                    mant << (frac_bits - top)
                };
                if m >> (frac_bits + 1) != 0 {
                    m >>= 1;
                    biased += 1;
                }
                if biased as u128 >= exp_max {
                    return encode(Value::Inf { neg }, f);
                }
                let field = if t.explicit {
                    m
                } else {
                    m - (1u128 << frac_bits)
                };
                sign_bit(neg) | (biased as u128) << mant_bits | field
            } else {
                // Subnormal in the target: scale to units of its smallest step.
                let s = (1 - bias - frac_bits).saturating_sub(exp);
                let q = if s >= 0 {
                    shift_round(mant, s)
                } else {
                    mant << (-s)
                };
                // Rounding up to 2^frac_bits reaches the smallest normal number: for implied
                // formats the carry lands in the exponent field by itself.
                if t.explicit && q >> frac_bits != 0 {
                    sign_bit(neg) | 1u128 << mant_bits | q
                } else {
                    sign_bit(neg) | q
                }
            }
        }
    }
}
