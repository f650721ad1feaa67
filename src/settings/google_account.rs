//! Google account e-mails as the Sheets settings name them (reviewers, the spreadsheet's owner): plain
//! ASCII addresses only, so nothing invisible (a zero-width space, a byte-order mark), no display names,
//! lists or `mailto:` can pass as an account; and the one identity Google gives several spellings of a
//! Gmail address (dots and `+tags` in the name, `googlemail.com`), so an owner cannot also be a reviewer
//! under another spelling.

/// The address, lower-cased, or why it is not a Google account e-mail.
pub fn parse(raw: &str) -> Result<String, String> {
    let email = raw.trim_matches([' ', '\t']).to_ascii_lowercase();
    let refuse = || Err(format!("{raw:?} is not a Google account e-mail (name@domain, plain ASCII)"));
    let Some((name, domain)) = email.split_once('@') else { return refuse() };
    let name_ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-'".contains(c))
        && !name.starts_with('.')
        && !name.ends_with('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if name_ok && domain_ok {
        Ok(email)
    } else {
        refuse()
    }
}

/// The account an address reaches: Gmail ignores dots and `+tags` in the name, and `googlemail.com` is
/// `gmail.com`. Other domains are compared as written (their rules are the domain's own).
pub fn identity(email: &str) -> String {
    match email.split_once('@') {
        Some((name, "gmail.com" | "googlemail.com")) => {
            let name = name.split('+').next().unwrap_or(name).replace('.', "");
            format!("{name}@gmail.com")
        }
        _ => email.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_addresses_pass_and_gmail_spellings_are_one_account() {
        assert_eq!(parse(" Alice@Example.com ").unwrap(), "alice@example.com");
        for bad in [
            "alice@x.com\u{200b}",
            "\u{feff}alice@x.com",
            "bob@x@y.com",
            "bob smith@x.com",
            "bob@.",
            "<bob@x.com>",
            "mailto:alice@x.com",
            "bob@x.com, alice@x.com",
            "alice＠x.com",
            "alice@x",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(identity("a.lice@gmail.com"), identity("alice@googlemail.com"));
        assert_eq!(identity("alice+sheets@gmail.com"), "alice@gmail.com");
        assert_ne!(identity("a.lice@example.com"), identity("alice@example.com"));
    }
}
