//! How the REPL shows a value: the shortest text that reads back as the same double
//! (Python's `repr`), or the tutorial's `%f`.

use std::str::FromStr;

/// How top-level values print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintMode {
    /// The shortest form that reads back to the same double: `0.1`, `1e-07`, `1e+30`.
    Shortest,
    /// The tutorial's `printf("%f")`: `0.100000`.
    Fixed,
}

impl FromStr for PrintMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "shortest" => Ok(PrintMode::Shortest),
            "fixed" => Ok(PrintMode::Fixed),
            other => Err(format!("`{other}` is neither `shortest` nor `fixed`")),
        }
    }
}

/// `value` as `mode` shows it.
pub fn format_value(value: f64, mode: PrintMode) -> String {
    match mode {
        PrintMode::Fixed => crate::runtime::format_f(value),
        PrintMode::Shortest => shortest(value),
    }
}

/// Python's `repr` of a float. Rust's `{:?}` already picks the shortest round-trip
/// digits and switches to an exponent exactly where Python does (below 1e-4, from
/// 1e16 on); only the exponent's spelling differs (`1e-7` against `1e-07`).
fn shortest(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let text = format!("{value:?}");
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text;
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python 3's `repr` of each value.
    #[test]
    fn shortest_matches_python_repr() {
        for (value, python) in [
            (1e-7, "1e-07"),
            (1e30, "1e+30"),
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (6765.0, "6765.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e-300, "1.5e-300"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789.125, "123456789.125"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(
                format_value(value, PrintMode::Shortest),
                python,
                "{value:e}"
            );
        }
    }

    #[test]
    fn shortest_reads_back_to_the_same_double() {
        let mut bits: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            // xorshift64: doubles of every exponent, subnormals included.
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            let x = f64::from_bits(bits);
            if x.is_nan() {
                continue;
            }
            let text = format_value(x, PrintMode::Shortest);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                x.to_bits(),
                "{text}"
            );
        }
    }

    #[test]
    fn fixed_is_the_tutorials_format() {
        assert_eq!(format_value(1e-7, PrintMode::Fixed), "0.000000");
        assert_eq!(format_value(2.5, PrintMode::Fixed), "2.500000");
    }
}
