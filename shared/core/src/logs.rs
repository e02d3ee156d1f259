//! Log reduction: the lines of a container log that matter, within a byte budget.
//!
//! Kept, in order of priority: the last lines (what happened just before the crash), lines that
//! report an error, and the stack-trace lines that follow them. Everything else is dropped and
//! counted, so the model (and the person) knows how much it did not see.

use serde::Serialize;

/// A log reduced to a budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReducedLog {
    /// Kept lines with their 1-based line numbers, in log order.
    pub lines: Vec<(usize, String)>,
    /// Lines in the original log.
    pub total_lines: usize,
    /// Lines dropped.
    pub dropped_lines: usize,
    /// Bytes dropped.
    pub dropped_bytes: usize,
}

impl ReducedLog {
    /// A compact text rendering: kept lines, with a marker where lines were skipped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut prev = 0usize;
        for (n, line) in &self.lines {
            if *n > prev + 1 {
                out.push_str(&format!("  … {} lines skipped …\n", n - prev - 1));
            }
            out.push_str(line);
            out.push('\n');
            prev = *n;
        }
        if self.total_lines > prev {
            out.push_str(&format!("  … {} lines skipped …\n", self.total_lines - prev));
        }
        if self.dropped_lines > 0 {
            out.push_str(&format!(
                "[{} of {} lines kept; {} lines ({} bytes) dropped]\n",
                self.lines.len(),
                self.total_lines,
                self.dropped_lines,
                self.dropped_bytes
            ));
        }
        out
    }
}

const ERROR_WORDS: &[&str] = &[
    "error",
    "exception",
    "fatal",
    "panic",
    "fail",
    "killed",
    "refused",
    "timeout",
    "timed out",
    "outofmemory",
    "out of memory",
    "oom",
    "denied",
    "forbidden",
    "unauthorized",
    "no such host",
    "not found",
    "no space left",
    "segmentation fault",
    "traceback",
    "critical",
    "unable to",
    "cannot",
    "could not",
    "couldn't",
    "crash",
    "abort",
    "exit code",
    "exited",
];

/// Whether a log line reports a problem.
pub fn is_error_line(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    ERROR_WORDS.iter().any(|w| lower.contains(w))
}

/// Whether a log line belongs to a stack trace (Java, Go, Python, Node, Rust).
pub fn is_stack_line(line: &str) -> bool {
    let t = line.trim_start();
    let indented = line.len() != t.len();
    (indented && (t.starts_with("at ") || t.starts_with("File \"") || t.starts_with("...")))
        || t.starts_with("Caused by:")
        || t.starts_with("goroutine ")
        || (indented && t.contains(".go:"))
        || t.starts_with("Traceback (most recent call last)")
        || t.starts_with("stack backtrace:")
}

/// Reduces `text` to at most `budget` bytes of lines, keeping the last `tail` lines first,
/// then error lines and the stack-trace lines following them, newest first.
pub fn reduce(text: &str, budget: usize, tail: usize) -> ReducedLog {
    let all: Vec<&str> = text.lines().collect();
    let total_lines = all.len();
    let total_bytes: usize = all.iter().map(|l| l.len() + 1).sum();
    let mut keep = vec![false; total_lines];
    let mut used = 0usize;
    let take = |i: usize, keep: &mut Vec<bool>, used: &mut usize| -> bool {
        if keep[i] {
            return true;
        }
        let cost = all[i].len().min(MAX_LINE) + 1;
        if *used + cost > budget {
            return false;
        }
        keep[i] = true;
        *used += cost;
        true
    };
    // The last lines, newest first.
    for i in (total_lines.saturating_sub(tail)..total_lines).rev() {
        if !take(i, &mut keep, &mut used) {
            break;
        }
    }
    // Error lines and their stack traces, newest first.
    let mut i = total_lines;
    while i > 0 {
        i -= 1;
        if is_error_line(all[i]) && !keep[i] {
            if !take(i, &mut keep, &mut used) {
                continue;
            }
            let mut j = i + 1;
            while j < total_lines && j < i + 12 && is_stack_line(all[j]) {
                if !take(j, &mut keep, &mut used) {
                    break;
                }
                j += 1;
            }
        }
    }
    let lines: Vec<(usize, String)> =
        keep.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| (i + 1, truncate_line(all[i]))).collect();
    let kept_bytes: usize = lines.iter().map(|(i, _)| all[i - 1].len() + 1).sum();
    ReducedLog { total_lines, dropped_lines: total_lines - lines.len(), dropped_bytes: total_bytes - kept_bytes, lines }
}

const MAX_LINE: usize = 400;

fn truncate_line(line: &str) -> String {
    if line.len() <= MAX_LINE {
        return line.to_string();
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &line[..end], line.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_errors_stack_and_tail_within_budget() {
        let mut log = String::new();
        for i in 0..1000 {
            log.push_str(&format!("INFO request {i} served in 3ms\n"));
        }
        log.push_str("ERROR java.lang.OutOfMemoryError: Java heap space\n\tat com.acme.Cache.put(Cache.java:42)\n\tat com.acme.Api.handle(Api.java:7)\n");
        for i in 0..100 {
            log.push_str(&format!("INFO tick {i}\n"));
        }
        let r = reduce(&log, 1024, 10);
        let text = r.render();
        assert!(text.contains("OutOfMemoryError"), "{text}");
        assert!(text.contains("Cache.java:42"), "{text}");
        assert!(text.contains("INFO tick 99"), "{text}");
        assert!(!text.contains("request 500 "), "{text}");
        assert!(r.dropped_lines > 1000, "{r:?}");
        let kept: usize = r.lines.iter().map(|(_, l)| l.len() + 1).sum();
        assert!(kept <= 1024, "kept {kept} bytes");
        assert!(text.contains("lines skipped"));
    }

    #[test]
    fn small_log_is_kept_whole() {
        let r = reduce("a\nb\nc\n", 1024, 50);
        assert_eq!(r.dropped_lines, 0);
        assert_eq!(r.render(), "a\nb\nc\n");
    }
}
