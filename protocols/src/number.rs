//! The `Number` data type of SQS and SNS message attributes, one rule for both services: both
//! developer guides say "up to 38 digits of precision, between 10^-128 and 10^+126".

/// Whether `text` is a Number attribute value: a decimal with optional sign, fraction and
/// exponent, at most 38 significant digits, magnitude between 10^-128 and 10^126.
pub fn is_number(text: &str) -> bool {
    let s = text.trim();
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(pos) => (&s[..pos], Some(&s[pos + 1..])),
        None => (s, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return false;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            // An exponent too long for i64 is far outside the range anyway.
            match e.parse::<i64>() {
                Ok(n) => n,
                Err(_) => return false,
            }
        }
    };
    let digits = format!("{int_part}{frac_part}");
    let Some(first) = digits.find(|c| c != '0') else {
        return true; // zero
    };
    let significant = digits[first..].trim_end_matches('0');
    if significant.len() > 38 {
        return false;
    }
    // The value is d.ddd × 10^magnitude.
    let magnitude = int_part.len() as i64 - 1 - first as i64 + exponent;
    (-128..=126).contains(&magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let max_digits = "9".repeat(38);
        let big = format!("1{}", "0".repeat(126));
        for ok in [
            "0",
            "-1",
            "+2",
            "1.5",
            ".5",
            "5.",
            " 7 ",
            "1e10",
            "1E-3",
            "0e999999",
            "000123.4500",
            max_digits.as_str(),
            "1e126",
            "9.99e126",
            "1e-128",
            "-1e-128",
            big.as_str(),
            "0.00001e-123",
        ] {
            assert!(is_number(ok), "{ok}");
        }
        let too_many_digits = "9".repeat(39);
        let too_big = format!("1{}", "0".repeat(127));
        for bad in [
            "",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "abc",
            "1.2.3",
            "0x10",
            "NaN",
            "inf",
            "1_000",
            too_many_digits.as_str(),
            "1e127",
            "1e-129",
            "0.1e-128",
            too_big.as_str(),
            "1e99999999999999999999",
        ] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn numbers_as_sqs_tests_had_them() {
        for ok in ["0", "-1", "+2", "1.5", ".5", "5.", "1e10", "1E-3", &"9".repeat(38)] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in ["", "-", ".", "e5", "1e", "abc", "1.2.3", "0x10", &"9".repeat(39)] {
            assert!(!is_number(bad), "{bad}");
        }
    }
}
