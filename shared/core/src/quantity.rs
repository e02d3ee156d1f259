//! Kubernetes resource quantities: parsing to numbers and formatting back.

/// Parses a memory quantity (`512Mi`, `1G`, `1073741824`, `1.5Gi`) into bytes.
pub fn parse_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    let units: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0f64.powi(4)),
        ("Pi", 1024.0f64.powi(5)),
        ("Ei", 1024.0f64.powi(6)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, mult) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|v| v * mult);
        }
    }
    if let Some(n) = q.strip_suffix('m') {
        return n.parse::<f64>().ok().map(|v| v / 1000.0);
    }
    if let Some((m, e)) = q.split_once(['e', 'E']) {
        return Some(m.parse::<f64>().ok()? * 10f64.powi(e.parse::<i32>().ok()?));
    }
    q.parse::<f64>().ok()
}

/// Parses a CPU quantity (`250m`, `1`, `0.5`) into millicores.
pub fn parse_millicores(q: &str) -> Option<f64> {
    let q = q.trim();
    match q.strip_suffix('m') {
        Some(n) => n.parse::<f64>().ok(),
        None => parse_bytes(q).map(|v| v * 1000.0),
    }
}

/// Formats bytes as the largest binary unit that divides them evenly (`1Gi`, `768Mi`).
pub fn format_bytes(bytes: f64) -> String {
    let b = bytes.round() as u64;
    for (suffix, mult) in [("Ti", 1u64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if b >= mult && b.is_multiple_of(mult) {
            return format!("{}{suffix}", b / mult);
        }
    }
    if b >= 1 << 20 {
        return format!("{}Mi", b.div_ceil(1 << 20));
    }
    b.to_string()
}

/// Formats millicores (`250m`, `2`).
pub fn format_millicores(m: f64) -> String {
    let m = m.round() as u64;
    if m.is_multiple_of(1000) { (m / 1000).to_string() } else { format!("{m}m") }
}

/// A larger memory limit for a container that was OOMKilled at `current` bytes: double it,
/// rounded up to a whole 256Mi step.
pub fn raised_memory_limit(current: f64) -> f64 {
    let step = 256.0 * 1024.0 * 1024.0;
    ((current * 2.0) / step).ceil() * step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(parse_bytes("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_bytes("1G"), Some(1e9));
        assert_eq!(parse_bytes("1.5Gi"), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_millicores("250m"), Some(250.0));
        assert_eq!(parse_millicores("2"), Some(2000.0));
        assert_eq!(format_bytes(1024.0 * 1024.0 * 1024.0), "1Gi");
        assert_eq!(format_bytes(768.0 * 1024.0 * 1024.0), "768Mi");
        assert_eq!(format_millicores(1500.0), "1500m");
        assert_eq!(format_bytes(raised_memory_limit(512.0 * 1024.0 * 1024.0)), "1Gi");
        assert_eq!(format_bytes(raised_memory_limit(300.0 * 1024.0 * 1024.0)), "768Mi");
    }
}
