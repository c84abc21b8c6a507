//! A PostgreSQL URL that never shows its password.

use std::fmt;

/// `postgres://user:password@host:port/database?options`. Display and
/// Debug show it with the password replaced by `***`, so it can be logged
/// and put in error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// Accepts `postgres://` and `postgresql://` URLs; other schemes are
    /// not PostgreSQL's.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "database URL {} is not a PostgreSQL URL (postgres://user:password@host/database)",
                redact(url)
            ));
        }
        Ok(PostgresUrl(url.to_owned()))
    }

    /// The URL with its password, for connecting only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", redact(&self.0))
    }
}

/// Replaces the password in the user info and any `password=` option with
/// `***`. When in doubt it hides more: everything between the first `:`
/// of the user info and the last `@` before the options.
fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(url.len());
    if let Some(s) = scheme {
        out.push_str(s);
        out.push_str("://");
    }
    match main.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(main),
    }
    if let Some(q) = query {
        out.push('?');
        let params: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let url = PostgresUrl::parse("postgres://hearth:s3cr%40t@db.example:5432/hearth").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://hearth:***@db.example:5432/hearth"
        );
        assert!(!format!("{url:?}").contains("s3cr"));
        let url =
            PostgresUrl::parse("postgresql://hearth@db/hearth?sslmode=disable&password=hunter2")
                .unwrap();
        assert_eq!(
            url.to_string(),
            "postgresql://hearth@db/hearth?sslmode=disable&password=***"
        );
        // An unencoded `@` in the password: everything up to the last one goes.
        let url = PostgresUrl::parse("postgres://u:p@ss@host/db").unwrap();
        assert_eq!(url.to_string(), "postgres://u:***@host/db");
    }

    #[test]
    fn urls_without_a_password_are_shown_whole() {
        let url = PostgresUrl::parse("postgres://postgres@127.0.0.1:5432/postgres").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
    }

    #[test]
    fn other_schemes_are_refused_without_showing_the_password() {
        let err = PostgresUrl::parse("mysql://root:topsecret@db/x").unwrap_err();
        assert!(err.contains("not a PostgreSQL URL"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
    }
}
