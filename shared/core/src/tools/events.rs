//! get_events: events deduplicated with counts, newest first.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Event;
use serde::Serialize;

use super::resolve::NameMatch;
use super::{Args, Render, table};
use crate::error::Result;
use crate::k8s::{decode_all, human_duration};
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

const DEFAULT_LIMIT: usize = 50;

/// One deduplicated event.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub namespace: String,
    /// `Kind/name` of the involved object.
    pub object: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    /// Seconds since the first and the last occurrence.
    pub first_seen_secs: Option<i64>,
    pub last_seen_secs: Option<i64>,
}

/// The result of get_events.
#[derive(Debug, Clone, Serialize)]
pub struct EventsResult {
    pub events: Vec<EventRow>,
    /// Distinct events left out by the limit.
    pub omitted: usize,
}

/// The time an event last happened (lastTimestamp, eventTime, firstTimestamp or creation).
pub fn event_last_time(e: &Event) -> Option<jiff::Timestamp> {
    // A repeated scheduler event (events.k8s.io) keeps its first time in eventTime and the
    // latest in series.lastObservedTime.
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.series.as_ref().and_then(|s| s.last_observed_time.as_ref()).map(|t| t.0))
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// How many times an event happened: `count` (the core v1 recorder) or, for an events.k8s.io
/// series, the first occurrence plus `series.count` repeats.
pub fn event_count(e: &Event) -> i32 {
    let series = e.series.as_ref().and_then(|s| s.count).map_or(1, |c| c.saturating_add(1));
    e.count.unwrap_or(1).max(series).max(1)
}

fn event_first_time(e: &Event) -> Option<jiff::Timestamp> {
    e.first_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| event_last_time(e))
}

pub(super) async fn get_events(reader: &dyn ClusterReader, args: &Args) -> Result<EventsResult> {
    let mut fields = Vec::new();
    if let Some(k) = &args.object_kind {
        fields.push(format!("involvedObject.kind={k}"));
    }
    if let Some(t) = &args.type_ {
        fields.push(format!("type={t}"));
    }
    if let Some(r) = &args.reason {
        fields.push(format!("reason={r}"));
    }
    let scope = Scope {
        namespace: args.namespace.clone(),
        label_selector: None,
        field_selector: (!fields.is_empty()).then(|| fields.join(",")),
    };
    let mut events: Vec<Event> = decode_all(reader.list(Kind::Event, &scope).await?)?;
    if let Some(n) = &args.object_name {
        // The object itself and, for a workload's name, its ReplicaSets and pods (named after it):
        // a field selector matches only the exact name, so this filter runs here.
        let wanted = |name: &str| NameMatch::Exact.matches(n, name) || NameMatch::Workload.matches(n, name);
        events.retain(|e| e.involved_object.name.as_deref().is_some_and(wanted));
    }
    let now = reader.now();
    let limit = args.limit.map_or(DEFAULT_LIMIT, |l| usize::try_from(l).unwrap_or(DEFAULT_LIMIT));
    let (events, omitted) = dedup(&events, now, limit);
    Ok(EventsResult { events, omitted })
}

/// Deduplicates events by object, type, reason and message, newest first, keeping `limit`.
pub fn dedup(events: &[Event], now: jiff::Timestamp, limit: usize) -> (Vec<EventRow>, usize) {
    struct Acc {
        row: EventRow,
        first: Option<jiff::Timestamp>,
        last: Option<jiff::Timestamp>,
    }
    let mut groups: HashMap<(String, String, String, String, String), Acc> = HashMap::new();
    for e in events {
        let obj = &e.involved_object;
        let object = format!("{}/{}", obj.kind.as_deref().unwrap_or("?"), obj.name.as_deref().unwrap_or("?"));
        let namespace = obj.namespace.clone().or_else(|| e.metadata.namespace.clone()).unwrap_or_default();
        let type_ = e.type_.clone().unwrap_or_else(|| "Normal".into());
        let reason = e.reason.clone().unwrap_or_default();
        let message = e.message.clone().unwrap_or_default().trim().to_string();
        let count = event_count(e);
        let key = (namespace.clone(), object.clone(), type_.clone(), reason.clone(), message.clone());
        let (first, last) = (event_first_time(e), event_last_time(e));
        let acc = groups.entry(key).or_insert_with(|| Acc {
            row: EventRow {
                namespace,
                object,
                type_,
                reason,
                message,
                count: 0,
                first_seen_secs: None,
                last_seen_secs: None,
            },
            first,
            last,
        });
        acc.row.count += count;
        acc.first = match (acc.first, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        acc.last = match (acc.last, last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let mut accs: Vec<Acc> = groups.into_values().collect();
    accs.sort_by(|a, b| b.last.cmp(&a.last).then_with(|| a.row.object.cmp(&b.row.object)));
    let omitted = accs.len().saturating_sub(limit);
    let rows = accs
        .into_iter()
        .take(limit)
        .map(|mut a| {
            a.row.first_seen_secs = a.first.map(|t| now.as_second() - t.as_second());
            a.row.last_seen_secs = a.last.map(|t| now.as_second() - t.as_second());
            a.row
        })
        .collect();
    (rows, omitted)
}

impl Render for EventsResult {
    fn text(&self) -> String {
        if self.events.is_empty() {
            return "No events found.\n".into();
        }
        let ago = |s: Option<i64>| s.map_or_else(|| "?".to_string(), human_duration);
        let rows: Vec<Vec<String>> = self
            .events
            .iter()
            .map(|e| {
                let seen = if e.count > 1 {
                    format!("{} (x{} over {})", ago(e.last_seen_secs), e.count, ago(e.first_seen_secs))
                } else {
                    ago(e.last_seen_secs)
                };
                vec![
                    seen,
                    e.type_.clone(),
                    e.reason.clone(),
                    format!("{}/{}", e.namespace, e.object),
                    e.message.clone(),
                ]
            })
            .collect();
        let mut out = table(&["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], &rows);
        if self.omitted > 0 {
            out.push_str(&format!("({} older distinct events omitted)\n", self.omitted));
        }
        out
    }
}
