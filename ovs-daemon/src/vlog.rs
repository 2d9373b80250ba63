//! Log lines in OVS's `vlog` file format, so that whatever reads
//! `ovn-northd.log` or `ovn-controller.log` (operators' greps, log
//! shippers) reads flowc's daemons' logs:
//! `2026-11-23T04:22:14.547Z|00012|ovn_northd|INFO|message`: UTC time with
//! milliseconds, a per-process sequence number, the module and the level.
//! `vlog/reopen` (what logrotate's postrotate calls) reopens the file.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where log lines go: a file (`--log-file`) or stderr.
pub struct Log {
    path: Option<String>,
    file: Option<std::fs::File>,
    seq: u32,
    module: &'static str,
}

impl Log {
    /// Opens (appends to) `path` for `program`, whose lines name `module`
    /// by default; `None` logs to stderr. A file that cannot be opened is
    /// reported on stderr and logging goes to stderr.
    pub fn open(program: &str, module: &'static str, path: Option<&str>) -> Log {
        let mut log = Log { path: path.map(str::to_string), file: None, seq: 0, module };
        if let Err(e) = log.reopen() {
            eprintln!("{program}: {}: {e}", path.unwrap_or_default());
        }
        log
    }

    /// Closes and reopens the log file (after rotation).
    pub fn reopen(&mut self) -> std::io::Result<()> {
        self.file = None;
        if let Some(p) = &self.path {
            self.file = Some(std::fs::OpenOptions::new().create(true).append(true).open(p)?);
        }
        Ok(())
    }

    /// One line from the default module.
    pub fn line(&mut self, level: &str, msg: &str) {
        self.module_line(self.module, level, msg);
    }

    /// One line from `module` (`binding`, `ofctrl`...).
    pub fn module_line(&mut self, module: &str, level: &str, msg: &str) {
        self.seq = self.seq.wrapping_add(1);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let text = format!("{}|{:05}|{module}|{level}|{msg}\n", utc_timestamp(now.as_millis() as i64), self.seq);
        match &mut self.file {
            Some(f) => {
                let _ = f.write_all(text.as_bytes());
            }
            None => eprint!("{text}"),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the Unix epoch.
pub fn utc_timestamp(ms: i64) -> String {
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01: the
/// calendar is taken in 400-year eras (146,097 days), each era starting on
/// 1 March so that the leap day falls at the end of a year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year
    let mp = (5 * doy + 2) / 153; // March = 0
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00.000Z");
        // `date -u -d @951782400` = Tue Feb 29 2000 00:00:00 UTC
        assert_eq!(utc_timestamp(951_782_400_123), "2000-02-29T00:00:00.123Z");
        // `date -u -d @1795407734.598`
        assert_eq!(utc_timestamp(1_795_407_734_598), "2026-11-23T04:22:14.598Z");
        assert_eq!(utc_timestamp(-1), "1969-12-31T23:59:59.999Z");
    }
}
