//! Checking a whole `lflow-list` listing: every match (and action) parses
//! and type-checks. Pure: the `flowc check-lflows` command feeds it text.

use super::actions::{check_actions_in_table, parse_actions};
use super::check::{check_expr, Sets};
use super::listing::{parse_listing, ListedFlow};
use super::{expr, ParseError};
use std::fmt;

/// One flow that failed, or one line that is not a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The flow, if the line was one.
    pub flow: Option<ListedFlow>,
    /// 1-based line in the listing.
    pub line: usize,
    /// `match`, `actions` or `line`.
    pub part: &'static str,
    /// The offending text.
    pub text: String,
    pub error: String,
    /// Byte offset of the error within `text`.
    pub offset: usize,
}

/// The outcome of checking a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub flows: usize,
    pub failures: Vec<Failure>,
}

impl Report {
    /// Flows with at least one failure.
    pub fn failed_flows(&self) -> usize {
        let mut lines: Vec<usize> = self.failures.iter().map(|f| f.line).collect();
        lines.dedup();
        lines.len()
    }
}

/// Checks every flow of a listing: matches and actions (placed in their
/// logical table).
pub fn check_listing(text: &str, sets: &Sets) -> Report {
    let (flows, bad_lines) = parse_listing(text);
    let mut report = Report { flows: flows.len(), failures: Vec::new() };
    for l in bad_lines {
        report.failures.push(Failure {
            flow: None,
            line: l.line,
            part: "line",
            text: l.text,
            error: "not an lflow-list line".into(),
            offset: 0,
        });
    }
    for f in flows {
        let m = expr::parse(&f.r#match).and_then(|e| check_expr(&e, sets).map(|_| ()));
        if let Err(e) = m {
            report.failures.push(failure(&f, "match", &f.r#match, e));
        }
        let a = parse_actions(&f.actions).and_then(|a| check_actions_in_table(&a, sets, f.table).map(|_| ()));
        if let Err(e) = a {
            report.failures.push(failure(&f, "actions", &f.actions, e));
        }
    }
    report.failures.sort_by_key(|f| f.line);
    report
}

fn failure(f: &ListedFlow, part: &'static str, text: &str, e: ParseError) -> Failure {
    Failure {
        flow: Some(f.clone()),
        line: f.line,
        part,
        text: text.to_string(),
        error: e.message,
        offset: e.span.start,
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.flow {
            Some(flow) => write!(
                f,
                "line {}: datapath \"{}\" {} table={} ({}) priority={}: {} at offset {}: {}\n    {}\n    {}^",
                self.line,
                flow.datapath,
                flow.pipeline,
                flow.table,
                flow.stage,
                flow.priority,
                self.part,
                self.offset,
                self.error,
                self.text,
                " ".repeat(self.text[..self.offset.min(self.text.len())].chars().count())
            ),
            None => write!(f, "line {}: {}: {}", self.line, self.error, self.text),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for x in &self.failures {
            writeln!(f, "{x}")?;
        }
        write!(f, "{} flows, {} failed", self.flows, self.failed_flows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_failures_with_place() {
        let text = "Datapath: \"sw0\" (x)  Pipeline: ingress\n  table=0 (ls_in_a), priority=1 , match=(ip4 && foo == 1), action=(next;)\n  table=1 (ls_in_b), priority=2 , match=(1), action=(next;)\n";
        let r = check_listing(text, &Sets::default());
        assert_eq!(r.flows, 2);
        assert_eq!(r.failed_flows(), 1);
        let s = r.to_string();
        assert!(s.contains("line 2: datapath \"sw0\" ingress table=0 (ls_in_a) priority=1: match at offset 7"), "{s}");
        assert!(s.ends_with("2 flows, 1 failed"), "{s}");
    }
}
