//! Half precision by hand (no `half` dependency) and the shortest-form rule for floats.

/// The half-precision bits of `f`, when half precision holds it exactly (the infinities included;
/// NaN gives `0x7e00`, the one NaN deterministic encoding allows).
#[inline]
pub(crate) fn f64_to_f16_exact(f: f64) -> Option<u16> {
    if f.is_nan() {
        return Some(0x7e00);
    }
    if f.is_infinite() {
        return Some(if f > 0.0 { 0x7c00 } else { 0xfc00 });
    }
    let s = f as f32;
    if f64::from(s) != f {
        return None;
    }
    let bits = s.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0 {
        // Zero (f32 subnormals are far below half precision).
        return (mant == 0).then_some(sign);
    }
    let e = exp - 127;
    if (-14..=15).contains(&e) {
        if mant & 0x1fff != 0 {
            return None;
        }
        return Some(sign | (((e + 15) as u16) << 10) | (mant >> 13) as u16);
    }
    if (-24..=-15).contains(&e) {
        // A half-precision subnormal: the implicit bit joins the mantissa.
        let full = mant | 0x80_0000;
        let shift = (-e - 1) as u32;
        if full & ((1u32 << shift) - 1) != 0 {
            return None;
        }
        return Some(sign | (full >> shift) as u16);
    }
    None
}

/// The value of half-precision bits.
#[cfg(any(feature = "float", test))]
#[inline]
pub(crate) fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = h & 0x3ff;
    match exp {
        // 2^-24, exactly (no `powi` in core).
        0 => sign * f64::from(mant) * 5.960_464_477_539_063e-8,
        31 if mant == 0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => {
            let sign_bit = u64::from(h & 0x8000) << 48;
            let e = (exp - 15 + 1023) as u64;
            f64::from_bits(sign_bit | (e << 52) | (u64::from(mant) << 42))
        }
    }
}

/// Width in bytes (2, 4 or 8) of the shortest encoding of `f`.
#[cfg(any(feature = "float", test))]
#[inline]
pub(crate) fn shortest_width(f: f64) -> usize {
    if f64_to_f16_exact(f).is_some() {
        2
    } else if f64::from(f as f32) == f {
        4
    } else {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_exhaustive() {
        // Every half-precision value other than a non-canonical NaN or -0's twin round-trips.
        for h in 0u16..=0xffff {
            let f = f16_to_f64(h);
            if f.is_nan() {
                assert_eq!(f64_to_f16_exact(f), Some(0x7e00));
                continue;
            }
            assert_eq!(f64_to_f16_exact(f), Some(h), "{h:#x}");
            assert_eq!(shortest_width(f), 2);
        }
    }

    #[test]
    fn widths() {
        assert_eq!(shortest_width(100000.0), 4);
        assert_eq!(shortest_width(1.1), 8);
        assert_eq!(shortest_width(f64::INFINITY), 2);
        assert_eq!(shortest_width(5.960464477539063e-8), 2);
        // Just below the smallest half subnormal: single precision.
        assert_eq!(shortest_width(std::primitive::f64::powi(2.0, -25)), 4);
    }
}
