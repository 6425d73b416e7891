//! Apps: the unit that owns bookings, webhooks and API keys. Names and slugs are checked here.

pub const MAX_NAME_LEN: usize = 100;

/// A trimmed, non-empty display name of at most 100 characters.
pub fn parse_name(name: &str) -> Result<String, &'static str> {
    let n = name.trim();
    if n.is_empty() {
        Err("Give the app a name.")
    } else if n.chars().count() > MAX_NAME_LEN {
        Err("Use a name of at most 100 characters.")
    } else {
        Ok(n.to_string())
    }
}

/// A slug: 2 to 40 of `a-z`, `0-9` and `-`, starting with a letter, not ending with `-`.
pub fn parse_slug(slug: &str) -> Result<String, &'static str> {
    let s = slug.trim();
    let ok = (2..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("Use 2 to 40 lowercase letters, digits and dashes, starting with a letter (e.g. my-shop).")
    }
}

/// A slug suggested from a name: `"Yoga Studio!"` → `yoga-studio`.
pub fn slug_from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_rules() {
        for ok in ["demo", "my-shop", "a1", "shop-2026"] {
            assert_eq!(parse_slug(ok).unwrap(), ok);
        }
        for bad in [
            "",
            "a",
            "Demo",
            "1shop",
            "shop-",
            "my shop",
            "ü-shop",
            &"a".repeat(41),
        ] {
            assert!(parse_slug(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Yoga  ").unwrap(), "Yoga");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn a_slug_is_suggested_from_a_name() {
        assert_eq!(slug_from_name("Yoga Studio!"), "yoga-studio");
        assert_eq!(slug_from_name("  --Ä b--  "), "b");
        assert!(parse_slug(&slug_from_name("Hair & Beauty 24/7")).is_ok());
    }
}
