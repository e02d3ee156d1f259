//! Container logs as the kubelet serves them: `sinceSeconds`/`sinceTime`, `tailLines`,
//! `timestamps` and `limitBytes`, applied in that order.
//!
//! A snapshot's log lines may start with an RFC 3339 timestamp and a space, as
//! `kubectl logs --timestamps` prints them. When they do, `sinceSeconds` counts back from the
//! snapshot's capture time (never the wall clock), and `timestamps=false` strips the stamps.
//! When they do not, nothing can be filtered by time (every line is returned) and
//! `timestamps=true` has nothing to add. A line without a stamp among stamped lines (a stack
//! trace's continuation) takes the time of the line before it.

use jiff::{SignedDuration, Timestamp};

/// What part of a log to return. The default returns the whole log without timestamps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Only the last N lines (after the time filter).
    pub tail_lines: Option<u64>,
    /// Only lines from the last N seconds before "now".
    pub since_seconds: Option<u64>,
    /// Only lines at or after this time (ignored when `since_seconds` is set).
    pub since_time: Option<Timestamp>,
    /// Keep each line's timestamp.
    pub timestamps: bool,
    /// Stop after this many bytes (cut at a character boundary, so the text stays UTF-8).
    pub limit_bytes: Option<u64>,
}

/// Splits `line` into its leading RFC 3339 timestamp and the rest (after one space).
pub fn split_timestamp(line: &str) -> Option<(Timestamp, &str)> {
    let end = line.find([' ', '\t', '\n', '\r']).unwrap_or(line.len());
    let stamp = line.get(..end)?;
    // Cheap pre-check before the parser: a date starts with four digits and a dash.
    if stamp.len() < 20 || stamp.as_bytes().get(4).is_none_or(|b| *b != b'-') {
        return None;
    }
    let time = stamp.parse::<Timestamp>().ok()?;
    let rest = &line[end..];
    Some((time, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// Applies `options` to `text`, with `now` as the reference for `since_seconds`.
pub fn render(text: &str, options: &LogOptions, now: Timestamp) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let stamps: Vec<Option<Timestamp>> = lines.iter().map(|l| split_timestamp(l).map(|(t, _)| t)).collect();

    let cutoff = match (options.since_seconds, options.since_time) {
        (Some(secs), _) => {
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            Some(now.checked_sub(SignedDuration::from_secs(secs)).unwrap_or(Timestamp::MIN))
        }
        (None, Some(t)) => Some(t),
        (None, None) => None,
    };

    let mut kept: Vec<usize> = (0..lines.len()).collect();
    if let Some(cutoff) = cutoff {
        // Each line's effective time: its own, else the previous line's; leading lines without
        // a stamp take the first stamp. Without any stamp, nothing is filtered.
        if let Some(first) = stamps.iter().flatten().next().copied() {
            let mut current = first;
            kept.retain(|&i| {
                if let Some(t) = stamps[i] {
                    current = t;
                }
                current >= cutoff
            });
        }
    }
    if let Some(tail) = options.tail_lines {
        let tail = usize::try_from(tail).unwrap_or(usize::MAX);
        if kept.len() > tail {
            kept.drain(..kept.len() - tail);
        }
    }

    let mut out = String::new();
    for i in kept {
        let line = lines[i];
        match (options.timestamps, split_timestamp(line)) {
            (false, Some((_, rest))) => out.push_str(rest),
            _ => out.push_str(line),
        }
    }
    if let Some(limit) = options.limit_bytes {
        let mut limit = usize::try_from(limit).unwrap_or(usize::MAX).min(out.len());
        while !out.is_char_boundary(limit) {
            limit -= 1;
        }
        out.truncate(limit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMPED: &str = "2025-01-01T10:00:00Z starting\n2025-01-01T10:04:00.5Z error: boom\n  at main.rs:1\n2025-01-01T10:05:00Z retry\n";

    fn now() -> Timestamp {
        "2025-01-01T10:05:30Z".parse().expect("time")
    }

    #[test]
    fn since_seconds_counts_back_from_capture_time() {
        let out = render(STAMPED, &LogOptions { since_seconds: Some(120), ..LogOptions::default() }, now());
        assert_eq!(out, "error: boom\n  at main.rs:1\nretry\n");
    }

    #[test]
    fn timestamps_kept_on_request_and_tail_counts_lines() {
        let out =
            render(STAMPED, &LogOptions { tail_lines: Some(1), timestamps: true, ..LogOptions::default() }, now());
        assert_eq!(out, "2025-01-01T10:05:00Z retry\n");
        let out = render(STAMPED, &LogOptions { tail_lines: Some(0), ..LogOptions::default() }, now());
        assert_eq!(out, "");
    }

    #[test]
    fn unstamped_logs_are_not_filtered_by_time() {
        let text = "one\ntwo\nthree";
        let out =
            render(text, &LogOptions { since_seconds: Some(1), timestamps: true, ..LogOptions::default() }, now());
        assert_eq!(out, text);
    }

    #[test]
    fn limit_bytes_cuts_at_char_boundary() {
        let out = render("héllo\n", &LogOptions { limit_bytes: Some(2), ..LogOptions::default() }, now());
        assert_eq!(out, "h");
        let out = render("hello\n", &LogOptions { limit_bytes: Some(3), ..LogOptions::default() }, now());
        assert_eq!(out, "hel");
    }

    #[test]
    fn since_time_filters() {
        let since = "2025-01-01T10:04:30Z".parse().ok();
        let out = render(STAMPED, &LogOptions { since_time: since, ..LogOptions::default() }, now());
        assert_eq!(out, "retry\n");
    }

    #[test]
    fn a_line_that_only_looks_like_a_date_is_not_stamped() {
        assert!(split_timestamp("2025-01-01 started").is_none());
        assert!(split_timestamp("error 2025-01-01T10:00:00Z").is_none());
    }
}
