//! The bench's output: one Markdown table (a row per comparison: devbuild's and the
//! baseline's median with min–max, the ratio of medians, devbuild's peak RSS, the goal with
//! ✓/✗), and the report around it (date, engine, tools, machine, what each side runs).

use super::timing::Spread;

/// A goal the issue sets for one row.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Goal {
    /// devbuild's median over the baseline's, at most.
    pub max_ratio: Option<f64>,
    /// A stretch ratio, reported but not required.
    pub stretch_ratio: Option<f64>,
    /// devbuild's peak RSS, at most, in MiB.
    pub max_rss_mib: Option<u64>,
}

/// One comparison's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What is compared (Markdown).
    pub benchmark: String,
    /// devbuild's wall times, in seconds.
    pub devbuild: Spread,
    /// The baseline's wall times, in seconds.
    pub baseline: Spread,
    /// devbuild's peak RSS over the timed runs, in KiB.
    pub peak_rss_kib: u64,
    /// The goal.
    pub goal: Goal,
}

impl Row {
    /// devbuild's median over the baseline's.
    pub fn ratio(&self) -> f64 {
        self.devbuild.median / self.baseline.median
    }

    /// Whether the row meets its goal (stretch goals aside); `None` when it has none.
    pub fn goal_met(&self) -> Option<bool> {
        let ratio = self.goal.max_ratio.map(|max| self.ratio() <= max);
        let rss = self
            .goal
            .max_rss_mib
            .map(|max| self.peak_rss_kib <= max * 1024);
        match (ratio, rss) {
            (None, None) => None,
            (ratio, rss) => Some(ratio.unwrap_or(true) && rss.unwrap_or(true)),
        }
    }

    /// The goal cell: each part with ✓ or ✗.
    fn goal_cell(&self) -> String {
        let mark = |met: bool| if met { "✓" } else { "✗" };
        let ratio = self.ratio();
        let mut parts = Vec::new();
        if let Some(max) = self.goal.max_ratio {
            parts.push(format!("≤ {max:.1}× {}", mark(ratio <= max)));
        }
        if let Some(stretch) = self.goal.stretch_ratio {
            parts.push(format!("stretch {stretch:.1}× {}", mark(ratio <= stretch)));
        }
        if let Some(max) = self.goal.max_rss_mib {
            parts.push(format!(
                "RSS ≤ {max} MiB {}",
                mark(self.peak_rss_kib <= max * 1024)
            ));
        }
        if parts.is_empty() {
            "none set".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// A duration in seconds, to three significant digits: `412 ms`, `1.23 s`, `12.3 s`.
pub fn format_seconds(seconds: f64) -> String {
    if seconds < 0.000_999_5 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 0.999_5 {
        let ms = seconds * 1e3;
        if ms < 9.995 {
            format!("{ms:.2} ms")
        } else if ms < 99.95 {
            format!("{ms:.1} ms")
        } else {
            format!("{ms:.0} ms")
        }
    } else if seconds < 9.995 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.1} s")
    }
}

/// A median with its range: `412 ms (398–450 ms)`.
pub fn format_spread(spread: &Spread) -> String {
    format!(
        "{} ({}–{})",
        format_seconds(spread.median),
        format_seconds(spread.min),
        format_seconds(spread.max)
    )
}

/// A ratio: `0.79×`.
pub fn format_ratio(ratio: f64) -> String {
    format!("{ratio:.2}×")
}

/// A size in KiB as MiB: `9.8 MiB`.
pub fn format_mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A size in bytes, in the unit that reads best: `30 KiB`, `136 MiB`, `2.0 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    let mib = bytes as f64 / f64::from(1u32 << 20);
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else if mib >= 10.0 {
        format!("{mib:.0} MiB")
    } else if mib >= 1.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    }
}

/// A count with thousands separators: `54,386`.
pub fn format_count(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The Markdown table of `rows`.
pub fn render_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| benchmark | devbuild: median (min–max) | baseline: median (min–max) | devbuild / baseline | devbuild peak RSS | goal |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | **{}** | {} | {} |\n",
            row.benchmark,
            format_spread(&row.devbuild),
            format_spread(&row.baseline),
            format_ratio(row.ratio()),
            format_mib(row.peak_rss_kib),
            row.goal_cell()
        ));
    }
    out
}

/// Where and how a run was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// `2025-12-01 22:40 UTC`.
    pub date: String,
    /// `Docker Engine 26.1.5 (API 1.45)`.
    pub engine: String,
    /// The tools compared against, with versions.
    pub tools: String,
    /// `2 cores (model), Linux 6.1`.
    pub machine: String,
    /// Which devbuild binary and how many pairs.
    pub method: String,
}

/// The whole report: a heading, the context, the table, the legend and the goals' tally.
pub fn render_report(context: &Context, rows: &[Row], legend: &[String]) -> String {
    let mut out = format!(
        "# devbuild benchmarks\n\n\
         - date: {}\n- engine: {}\n- compared with: {}\n- machine: {}\n- method: {}\n\n",
        context.date, context.engine, context.tools, context.machine, context.method
    );
    out.push_str(&render_table(rows));
    out.push('\n');
    for line in legend {
        out.push_str(&format!("- {line}\n"));
    }
    let with_goal: Vec<bool> = rows.iter().filter_map(Row::goal_met).collect();
    let met = with_goal.iter().filter(|met| **met).count();
    out.push_str(&format!("\nGoals met: {met} of {}.\n", with_goal.len()));
    out
}

/// `secs` since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's civil-from-days).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hour, minute) = ((secs % 86_400) / 3_600, (secs % 3_600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(median: f64, min: f64, max: f64) -> Spread {
        Spread { median, min, max }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_seconds(0.000_25), "250 µs");
        assert_eq!(format_seconds(0.004_567), "4.57 ms");
        assert_eq!(format_seconds(0.045_67), "45.7 ms");
        assert_eq!(format_seconds(0.4123), "412 ms");
        assert_eq!(format_seconds(0.9996), "1.00 s");
        assert_eq!(format_seconds(1.234), "1.23 s");
        assert_eq!(format_seconds(12.34), "12.3 s");
        assert_eq!(
            format_spread(&spread(0.412, 0.398, 1.2)),
            "412 ms (398 ms–1.20 s)"
        );
    }

    #[test]
    fn ratios_sizes_and_counts() {
        assert_eq!(format_ratio(0.789), "0.79×");
        assert_eq!(format_ratio(1.0), "1.00×");
        assert_eq!(format_ratio(12.345), "12.35×");
        assert_eq!(format_mib(10_035), "9.8 MiB");
        assert_eq!(format_bytes(136 << 20), "136 MiB");
        assert_eq!(format_bytes(2 << 30), "2.0 GiB");
        assert_eq!(format_bytes(3 << 19), "1.5 MiB");
        assert_eq!(format_bytes(30_720), "30 KiB");
        assert_eq!(format_count(54_386), "54,386");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000_000), "1,000,000");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(
            format_utc(1_764_633_600 + 22 * 3_600 + 40 * 60),
            "2025-12-02 22:40 UTC"
        );
    }

    fn row(devbuild: f64, baseline: f64, rss_kib: u64, goal: Goal) -> Row {
        Row {
            benchmark: "thing".into(),
            devbuild: spread(devbuild, devbuild * 0.9, devbuild * 1.1),
            baseline: spread(baseline, baseline * 0.9, baseline * 1.1),
            peak_rss_kib: rss_kib,
            goal,
        }
    }

    #[test]
    fn goals_are_judged_on_the_ratio_of_medians_and_the_peak_rss() {
        let goal = Goal {
            max_ratio: Some(1.0),
            stretch_ratio: Some(0.7),
            max_rss_mib: Some(32),
        };
        let fast = row(0.8, 1.0, 10 * 1024, goal);
        assert_eq!(fast.goal_met(), Some(true));
        assert_eq!(fast.goal_cell(), "≤ 1.0× ✓, stretch 0.7× ✗, RSS ≤ 32 MiB ✓");
        assert_eq!(row(1.2, 1.0, 1024, goal).goal_met(), Some(false));
        assert_eq!(row(0.5, 1.0, 40 * 1024, goal).goal_met(), Some(false));
        let none = row(1.0, 1.0, 1024, Goal::default());
        assert_eq!(none.goal_met(), None);
        assert_eq!(none.goal_cell(), "none set");
    }

    #[test]
    fn the_table_and_report_render() {
        let rows = vec![
            row(
                0.5,
                1.0,
                8 * 1024,
                Goal {
                    max_ratio: Some(0.5),
                    ..Goal::default()
                },
            ),
            row(2.0, 1.0, 20 * 1024, Goal::default()),
        ];
        let table = render_table(&rows);
        assert_eq!(
            table,
            "| benchmark | devbuild: median (min–max) | baseline: median (min–max) | devbuild / baseline | devbuild peak RSS | goal |\n\
             | --- | --- | --- | --- | --- | --- |\n\
             | thing | 500 ms (450 ms–550 ms) | 1.00 s (900 ms–1.10 s) | **0.50×** | 8.0 MiB | ≤ 0.5× ✓ |\n\
             | thing | 2.00 s (1.80 s–2.20 s) | 1.00 s (900 ms–1.10 s) | **2.00×** | 20.0 MiB | none set |\n"
        );
        let context = Context {
            date: "2025-12-01 22:40 UTC".into(),
            engine: "Docker Engine 26.1.5".into(),
            tools: "GNU tar 1.34".into(),
            machine: "2 cores".into(),
            method: "pairs".into(),
        };
        let report = render_report(&context, &rows, &["A is devbuild".to_string()]);
        assert!(report.starts_with("# devbuild benchmarks\n\n- date: 2025-12-01 22:40 UTC\n"));
        assert!(report.contains(&table));
        assert!(report.contains("- A is devbuild\n"));
        assert!(report.ends_with("Goals met: 1 of 1.\n"), "{report}");
    }
}
