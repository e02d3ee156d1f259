//! Redaction: secrets masked before any text reaches the model, the audit trail or a log
//! line. Applied to every tool result and every log excerpt; Secret objects' data is never
//! read in the first place (the readers return Secrets as metadata only).

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// What replaces a secret value.
pub const MASK: &str = "****";

struct Rule {
    re: Regex,
    /// Replacement with `$name` groups; the secret part becomes [`MASK`].
    with: &'static str,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let r = |re: &str, with: &'static str| Regex::new(re).map(|re| Rule { re, with }).ok();
        [
            // PEM private keys, whole block.
            r(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----", "-----PRIVATE KEY ****-----"),
            // Authorization headers and bearer tokens.
            r(r"(?i)(?P<k>authorization\s*[:=]\s*(?:bearer|basic|token)?\s*)[A-Za-z0-9._~+/=-]{6,}", "${k}****"),
            r(r"(?i)(?P<k>\bbearer\s+)[A-Za-z0-9._~+/=-]{6,}", "${k}****"),
            // JWTs anywhere.
            r(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", "****"),
            // AWS access key ids and secret keys.
            r(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b", "****"),
            r(r#"(?i)(?P<k>aws_?secret_?access_?key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{30,}"#, "${k}****"),
            r(r#"(?i)(?P<k>aws_?session_?token["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}"#, "${k}****"),
            // Credentials in URLs: scheme://user:password@host.
            r(r"(?P<k>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?P<at>@)", "${k}****${at}"),
            // key=value / key: value / "key": "value" for secret-looking keys.
            r(
                r#"(?i)(?P<k>\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|client[_-]?secret|auth)[\w.-]*["']?\s*[:=]\s*["']?)(?P<v>[^\s"',;&}]{2,})"#,
                "${k}****",
            ),
            // GitHub / Slack style tokens.
            r(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|xox[baprs]-[A-Za-z0-9-]{10,})\b", "****"),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

/// Masks secrets in `text`. Borrowed when nothing matched.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for rule in rules() {
        if rule.re.is_match(&out) {
            let replaced = rule.re.replace_all(&out, rule.with).into_owned();
            out = Cow::Owned(replaced);
        }
    }
    out
}

/// Masks secrets in every string of a JSON value, and the values of environment variables
/// (`env[].value`) outright.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(r) = redact(s) {
                *s = r;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(env)) = map.get_mut("env") {
                for e in env.iter_mut() {
                    if let Some(v) = e.get_mut("value") {
                        *v = serde_json::Value::String(MASK.into());
                    }
                }
            }
            for (k, v) in map.iter_mut() {
                let lk = k.to_ascii_lowercase();
                let secret_key = ["password", "secret", "token", "apikey", "api_key"].iter().any(|w| lk.contains(w));
                if secret_key && v.is_string() && !lk.ends_with("ref") && !lk.ends_with("name") {
                    *v = serde_json::Value::String(MASK.into());
                } else {
                    redact_json(v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_what_must_not_leak() {
        struct Case {
            name: &'static str,
            input: &'static str,
            leak: &'static str,
            keep: &'static str,
        }
        let cases = [
            Case {
                name: "aws key id",
                input: "using key AKIAIOSFODNN7EXAMPLE for s3",
                leak: "AKIAIOSFODNN7EXAMPLE",
                keep: "for s3",
            },
            Case {
                name: "aws secret",
                input: "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                leak: "wJalrXUtnFEMI",
                keep: "aws_secret_access_key=",
            },
            Case {
                name: "bearer",
                input: "Authorization: Bearer abcdef123456.zzz",
                leak: "abcdef123456",
                keep: "Authorization",
            },
            Case {
                name: "jwt",
                input: "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U seen",
                leak: "eyJhbGciOiJIUzI1NiJ9",
                keep: "seen",
            },
            Case {
                name: "password kv",
                input: "connecting with password=hunter2 to db",
                leak: "hunter2",
                keep: "to db",
            },
            Case {
                name: "json secret",
                input: r#"{"db_password": "s3cr3t!", "user": "app"}"#,
                leak: "s3cr3t!",
                keep: "\"user\": \"app\"",
            },
            Case {
                name: "url creds",
                input: "postgres://app:pa55word@db.prod:5432/orders",
                leak: "pa55word",
                keep: "db.prod:5432/orders",
            },
            Case {
                name: "private key",
                input: "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
                leak: "MIIEow",
                keep: "PRIVATE KEY",
            },
        ];
        for c in cases {
            let out = redact(c.input);
            assert!(!out.contains(c.leak), "{}: leaked in {out}", c.name);
            assert!(out.contains(c.keep), "{}: lost {:?} in {out}", c.name, c.keep);
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let line = "java.lang.OutOfMemoryError: Java heap space at com.acme.Cache.put(Cache.java:42)";
        assert!(matches!(redact(line), Cow::Borrowed(_)));
    }

    #[test]
    fn env_values_are_masked_in_manifests() {
        let mut v = serde_json::json!({"containers": [{"name": "app", "env": [{"name": "DB_URL", "value": "postgres://u:p@h/db"}, {"name": "MODE", "value": "prod"}]}]});
        redact_json(&mut v);
        assert_eq!(v["containers"][0]["env"][0]["value"], MASK);
        assert_eq!(v["containers"][0]["env"][1]["value"], MASK);
        assert_eq!(v["containers"][0]["env"][0]["name"], "DB_URL");
    }
}
