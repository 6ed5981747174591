//! Byte-exact reproductions of the Python formatting the app relies on:
//! `json.dumps` with default options, `repr(float)`, and `Decimal`
//! formatting (docs/rules.md §1, §3.4).

use rust_decimal::{Decimal, RoundingStrategy};

/// A JSON value as the checks build it: insertion-ordered objects only.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// An integer.
    Int(i64),
    /// A float, written like Python `repr`.
    Float(f64),
    /// A string, written with `ensure_ascii=True`.
    Str(String),
}

/// `json.dumps(dict)` with default options: `", "` and `": "` separators,
/// keys in the given order, non-ASCII escaped as `\uXXXX`.
pub fn dumps(pairs: &[(&str, Json)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_str(&mut out, k);
        out.push_str(": ");
        match v {
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Float(f) => out.push_str(&float_repr(*f)),
            Json::Str(s) => push_str(&mut out, s),
        }
    }
    out.push('}');
    out
}

fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python `repr(float)`: the shortest round-trip digits, fixed notation for
/// exponents in [-4, 16), otherwise `1e-05` / `1e+16` style; `json.dumps`
/// writes `NaN` and `Infinity` for the non-finite values.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e3".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // position of the decimal point in `digits`
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() == 1 { digits.clone() } else { format!("{}.{}", &digits[..1], &digits[1..]) };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

/// Python `float(Decimal)`: the correctly rounded nearest double.
pub fn decimal_to_float(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// Python `format(Decimal, ".{places}f")`: round-half-even to `places`.
pub fn decimal_fixed(d: Decimal, places: u32) -> String {
    let r = d.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven);
    format!("{r:.prec$}", prec = places as usize)
}

/// A Python `Decimal` operation result under the default context:
/// 28 significant digits, round-half-even.
pub fn context_round(d: Decimal) -> Decimal {
    // Python leaves a value with at most 28 significant digits unchanged;
    // `round_sf` would pad it past the 28-digit scale limit instead.
    let digits = d.mantissa().unsigned_abs().checked_ilog10().map_or(1, |n| n + 1);
    if digits <= 28 {
        return d;
    }
    d.round_sf_with_strategy(28, RoundingStrategy::MidpointNearestEven).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn float_repr_matches_python() {
        for (f, want) in [
            (10000.0, "10000.0"),
            (5.005, "5.005"),
            (100.0 / 3.0, "33.333333333333336"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456789012.34, "123456789012.34"),
            (1.5e-10, "1.5e-10"),
            (-2.5, "-2.5"),
            (1e15, "1000000000000000.0"),
            (0.0, "0.0"),
        ] {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn dumps_matches_python_defaults() {
        let s = dumps(&[
            ("jours_retard", Json::Int(3)),
            ("nom", Json::Str("Étape \"x\"\n\u{1F600}\u{7f}".into())),
            ("pct", Json::Float(33.333333333333336)),
        ]);
        assert_eq!(
            s,
            r#"{"jours_retard": 3, "nom": "\u00c9tape \"x\"\n\ud83d\ude00\u007f", "pct": 33.333333333333336}"#
        );
    }

    #[test]
    fn decimal_fixed_is_half_even() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(decimal_fixed(d("0.25"), 1), "0.2");
        assert_eq!(decimal_fixed(d("0.35"), 1), "0.4");
        assert_eq!(decimal_fixed(d("10000"), 2), "10000.00");
        assert_eq!(decimal_fixed(d("33.33333333333333333333333333"), 1), "33.3");
        assert_eq!(decimal_to_float(d("5.005")), 5.005);
        assert_eq!(context_round(d("0.0025")).to_string(), "0.0025");
        assert_eq!(decimal_to_float(context_round(d("0.0025"))), 0.0025);
    }
}
