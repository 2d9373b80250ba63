//! Reading `ovn-sbctl lflow-list` text: the datapath blocks and, in each,
//! one line per logical flow.

use std::fmt;

/// One flow line of an `lflow-list` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFlow {
    /// Datapath name as printed (without quotes).
    pub datapath: String,
    /// `ingress` or `egress`.
    pub pipeline: String,
    pub table: u32,
    /// Stage name, trimmed.
    pub stage: String,
    pub priority: u32,
    pub r#match: String,
    pub actions: String,
    /// 1-based line number in the listing.
    pub line: usize,
}

/// A line that looks like neither a datapath header nor a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingError {
    pub line: usize,
    pub text: String,
}

impl fmt::Display for ListingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: not an lflow-list line: {}", self.line, self.text)
    }
}

/// Parses a listing; unrecognised lines are returned as errors beside the
/// flows that were read.
pub fn parse_listing(text: &str) -> (Vec<ListedFlow>, Vec<ListingError>) {
    let mut flows = Vec::new();
    let mut errors = Vec::new();
    let (mut dp, mut pipeline) = (String::new(), String::new());
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Datapath: ") {
            if let Some((name, tail)) = header(rest) {
                dp = name;
                pipeline = tail;
                continue;
            }
        } else if let Some(f) = flow_line(line, &dp, &pipeline, n) {
            flows.push(f);
            continue;
        }
        errors.push(ListingError { line: n, text: line.to_string() });
    }
    (flows, errors)
}

fn header(rest: &str) -> Option<(String, String)> {
    let name: String = serde_json::from_str(&rest[..rest.find(" (")?]).ok()?;
    let pipeline = rest.rsplit("Pipeline: ").next()?.trim().to_string();
    Some((name, pipeline))
}

fn flow_line(line: &str, dp: &str, pipeline: &str, n: usize) -> Option<ListedFlow> {
    let rest = line.trim_start().strip_prefix("table=")?;
    let (table, rest) = rest.split_once('(')?;
    let (stage, rest) = rest.split_once("), priority=")?;
    let (priority, rest) = rest.split_once(", match=(")?;
    let (m, rest) = rest.split_once("), action=(")?;
    let actions = rest.strip_suffix(')')?;
    Some(ListedFlow {
        datapath: dp.to_string(),
        pipeline: pipeline.to_string(),
        table: table.trim().parse().ok()?,
        stage: stage.trim().to_string(),
        priority: priority.trim().parse().ok()?,
        r#match: m.to_string(),
        actions: actions.to_string(),
        line: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_and_flows() {
        let text = "Datapath: \"lr0\" (0000002c-0000-4000-8000-00000000000b)  Pipeline: ingress\n  table=0 (lr_in_admission    ), priority=100  , match=(vlan.present || eth.src[40]), action=(drop;)\n  table=1 (x), priority=5 , match=(a == \"(b)\"), action=(c(d);)\nbogus\n";
        let (flows, errors) = parse_listing(text);
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[0].datapath, "lr0");
        assert_eq!(flows[0].pipeline, "ingress");
        assert_eq!(flows[0].stage, "lr_in_admission");
        assert_eq!(flows[0].priority, 100);
        assert_eq!(flows[0].r#match, "vlan.present || eth.src[40]");
        assert_eq!(flows[1].r#match, "a == \"(b)\"");
        assert_eq!(flows[1].actions, "c(d);");
        assert_eq!(errors, vec![ListingError { line: 4, text: "bogus".into() }]);
    }
}
