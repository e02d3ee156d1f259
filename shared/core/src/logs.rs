//! Log reduction: the lines of a container log that matter, within a byte budget.
//!
//! Kept, in order of priority: the last lines (what happened just before the crash), lines that
//! report an error, and the stack-trace lines that follow them. A line that differs from a kept
//! one only in its numbers (timestamps, counters, ids) is folded into it and counted, so a
//! health check failing every minute costs one line. Everything else is dropped and counted,
//! so the model (and the person) knows how much it did not see.

use std::collections::{BTreeMap, HashMap};

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
    /// Lines folded into a kept line like them: by the kept line's number, how many and the
    /// number of the first.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub folded: BTreeMap<usize, Folded>,
}

/// Lines folded into a kept line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Folded {
    /// Lines like the kept one, besides it.
    pub count: usize,
    /// The line number of the first of them.
    pub first: usize,
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
            if let Some(f) = self.folded.get(n) {
                out.push_str(&format!("  [+{} like it from line {}]", f.count, f.first));
            }
            out.push('\n');
            prev = *n;
        }
        if self.total_lines > prev {
            out.push_str(&format!("  … {} lines skipped …\n", self.total_lines - prev));
        }
        let folded: usize = self.folded.values().map(|f| f.count).sum();
        if self.dropped_lines > 0 || folded > 0 {
            out.push_str(&format!("[{} of {} lines kept", self.lines.len(), self.total_lines));
            if folded > 0 {
                out.push_str(&format!("; {folded} folded into lines like them"));
            }
            if self.dropped_lines > 0 {
                out.push_str(&format!("; {} lines ({} bytes) dropped", self.dropped_lines, self.dropped_bytes));
            }
            out.push_str("]\n");
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
    // Lines are taken newest first, so a shape's first taken line is its newest.
    let mut by_shape: HashMap<String, usize> = HashMap::new();
    let mut folded: BTreeMap<usize, Folded> = BTreeMap::new();
    let mut folded_into = vec![false; total_lines];
    let mut take = |i: usize, keep: &mut Vec<bool>, used: &mut usize| -> bool {
        if keep[i] || folded_into[i] {
            return true;
        }
        let shape = shape(all[i]);
        // A short line costs less than saying it was folded.
        if let Some(&k) = by_shape.get(&shape).filter(|_| all[i].len() >= FOLD_MIN) {
            let f = folded.entry(k + 1).or_insert(Folded { count: 0, first: i + 1 });
            f.count += 1;
            f.first = f.first.min(i + 1);
            folded_into[i] = true;
            return true;
        }
        let cost = all[i].len().min(MAX_LINE) + 1;
        if *used + cost > budget {
            return false;
        }
        keep[i] = true;
        by_shape.insert(shape, i);
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
    // Folded lines are accounted for (counted against the line they are like), not dropped.
    let accounted: usize = (0..total_lines).filter(|&i| keep[i] || folded_into[i]).map(|i| all[i].len() + 1).sum();
    let folded_lines = folded_into.iter().filter(|f| **f).count();
    ReducedLog {
        total_lines,
        dropped_lines: total_lines - lines.len() - folded_lines,
        dropped_bytes: total_bytes - accounted,
        lines,
        folded,
    }
}

const MAX_LINE: usize = 400;
/// Lines shorter than this are never folded.
const FOLD_MIN: usize = 32;

/// A line with its numbers masked: lines of one shape differ only in timestamps, counters,
/// durations or ids (runs of digits, and hex words of eight characters or more).
fn shape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex_id =
            word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit()) && word.chars().any(|c| c.is_ascii_digit());
        if hex_id {
            out.push('#');
        } else {
            let mut in_number = false;
            for c in word.chars() {
                if c.is_ascii_digit() {
                    if !in_number {
                        out.push('#');
                    }
                    in_number = true;
                } else {
                    in_number = false;
                    out.push(c);
                }
            }
        }
        word.clear();
    };
    for c in line.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

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
    fn lines_that_differ_only_in_numbers_are_folded_into_the_newest() {
        let mut log = String::from("INFO starting on port 8080\n");
        for m in 10..40 {
            log.push_str(&format!(
                "2025-12-10T17:{m}:54.0{m}Z WARN readiness check failed status=503 request={m:x}a9f0e1d2\n"
            ));
            if m % 10 == 0 {
                log.push_str(&format!("2025-12-10T17:{m}:53Z ERROR refresh failed: 403 Forbidden (took {m}ms)\n"));
            }
        }
        let r = reduce(&log, 4096, 25);
        let text = r.render();
        assert_eq!(r.lines.len(), 2, "one line per shape within the tail:\n{text}");
        assert!(text.contains("17:39:54.039Z WARN") && text.contains("[+29 like it from line 2]"), "{text}");
        assert!(text.contains("17:30:53Z ERROR") && text.contains("[+2 like it from line 3]"), "{text}");
        assert!(text.contains("31 folded into lines like them"), "{text}");
        assert_eq!(r.dropped_lines, 1, "only the first line was not seen: {r:?}");
        assert_eq!(
            shape("took 12ms at 0xdeadbeef1 id=9EAD071D87335DD3"),
            shape("took 7ms at 0xdeadbeef2 id=0123456789ABCDEF")
        );
        assert_ne!(shape("GET /healthz"), shape("GET /ready"));
    }

    #[test]
    fn small_log_is_kept_whole() {
        let r = reduce("a\nb\nc\n", 1024, 50);
        assert_eq!(r.dropped_lines, 0);
        assert_eq!(r.render(), "a\nb\nc\n");
    }
}
