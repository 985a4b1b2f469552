//! Where a failed step is in its Dockerfile, shown as buildx shows it after a failure:
//!
//! ```text
//! Dockerfile:3
//! --------------------
//!    1 |     FROM alpine:3.20
//!    2 |     COPY a.txt /a.txt
//!    3 | >>> RUN make
//!    4 |
//! --------------------
//! ```
//!
//! buildx prints the source range that comes with BuildKit's error; through the Engine API
//! the error is plain text, so devbuild finds the instruction from the failed step's name
//! (`[build 3/4] RUN make` is the third step of stage `build`, counted as BuildKit's
//! Dockerfile frontend counts them: the `FROM` of an image, then each `ADD`, `COPY`, `RUN`
//! and `WORKDIR`; `[internal] load metadata for <image>` is the `FROM` of that image) and
//! the lines the analyser found for it.
//!
//! ```
//! use devbuild::source::{locate, SourceExcerpt};
//!
//! let text = "FROM alpine:3.20\nCOPY a.txt /a.txt\nRUN make\n";
//! let analysis = dockerfile_froms::analyze(text, &Default::default()).unwrap();
//! let lines = locate("[3/3] RUN make", &analysis).unwrap();
//! let excerpt = SourceExcerpt::new("Dockerfile", text, lines).unwrap();
//! assert_eq!(excerpt.line, 3);
//! assert!(excerpt.to_string().contains("   3 | >>> RUN make\n"));
//! ```

use std::fmt;

use dockerfile_froms::{Analysis, Lines, StageBase};
use serde::{Deserialize, Serialize};

/// The failing instruction in its Dockerfile, with the lines around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceExcerpt {
    /// The Dockerfile's name (`Dockerfile`).
    pub file: String,
    /// The instruction's first line (1-based).
    pub line: u32,
    /// The lines shown, in order: the instruction's and up to two around it.
    pub lines: Vec<SourceLine>,
}

/// A line of a [`SourceExcerpt`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLine {
    /// Its number (1-based).
    pub line: u32,
    /// Its text, without the line ending.
    pub text: String,
    /// It is one of the failing instruction's lines (`>>>`).
    #[serde(default)]
    pub failing: bool,
}

impl SourceExcerpt {
    /// The excerpt of `text` (the Dockerfile named `file`) around `lines`, as BuildKit's
    /// `Source.Print` chooses it: two lines of context on each side for a one-line
    /// instruction, one for a longer one; `None` when the lines are not in the text.
    pub fn new(file: &str, text: &str, lines: Lines) -> Option<SourceExcerpt> {
        let all: Vec<&str> = text.split('\n').collect();
        let (first, last) = (lines.start, lines.end.max(lines.start).min(all.len()));
        if first < 1 || first > all.len() {
            return None;
        }
        let pad = if last == first { 4 } else { 2 };
        let (mut start, mut end, mut padded) = (first, last, 0);
        while padded < pad {
            if start > 1 {
                start -= 1;
                padded += 1;
            }
            if end != all.len() {
                end += 1;
                padded += 1;
            }
            padded += 1;
        }
        let shown = (start..=end)
            .map(|n| SourceLine {
                line: n as u32,
                text: all[n - 1]
                    .strip_suffix('\r')
                    .unwrap_or(all[n - 1])
                    .to_owned(),
                failing: (first..=last).contains(&n),
            })
            .collect();
        Some(SourceExcerpt {
            file: file.to_owned(),
            line: first as u32,
            lines: shown,
        })
    }
}

impl fmt::Display for SourceExcerpt {
    /// buildx's form: `Dockerfile:3`, a rule, ` %3d | >>> text` lines, a rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:{}", self.file, self.line)?;
        writeln!(f, "--------------------")?;
        for line in &self.lines {
            let marker = if line.failing { ">>>" } else { "   " };
            writeln!(f, " {:>3} | {marker} {}", line.line, line.text)?;
        }
        writeln!(f, "--------------------")
    }
}

/// The lines of the instruction a step named `step_name` (as BuildKit names it) runs, if
/// `analysis` tells.
pub fn locate(step_name: &str, analysis: &Analysis) -> Option<Lines> {
    if let Some(image) = step_name.strip_prefix("[internal] load metadata for ") {
        return analysis.stages.iter().find_map(|stage| match &stage.base {
            StageBase::Image(reference) if reference.to_string() == image => Some(stage.lines),
            _ => None,
        });
    }
    let (prefix, command) = step_name.strip_prefix('[')?.split_once("] ")?;
    if command.starts_with("ONBUILD ") {
        return None;
    }
    let mut words = prefix.split_whitespace().rev();
    let (index, total) = words.next()?.split_once('/')?;
    let (index, total): (usize, usize) = (index.trim().parse().ok()?, total.parse().ok()?);
    let stage = match words.next().filter(|w| !w.contains('/')) {
        Some(name) => match name.strip_prefix("stage-").and_then(|n| n.parse().ok()) {
            Some(n) => analysis.stages.get::<usize>(n)?,
            None => analysis
                .stages
                .iter()
                .find(|s| s.name.as_deref() == Some(name))?,
        },
        None if analysis.stages.len() == 1 => &analysis.stages[0],
        None => return None,
    };
    // The steps BuildKit counts in the stage, in order.
    let mut steps: Vec<(&str, Lines)> = Vec::new();
    if matches!(stage.base, StageBase::Image(_)) {
        steps.push(("FROM", stage.lines));
    }
    steps.extend(
        stage
            .instructions
            .iter()
            .filter(|i| matches!(i.keyword.as_str(), "ADD" | "COPY" | "RUN" | "WORKDIR"))
            .map(|i| (i.keyword.as_str(), i.lines)),
    );
    // A stage whose count is not the step's (ONBUILD triggers of its base add steps) is
    // not guessed at.
    if steps.len() != total {
        return None;
    }
    let (keyword, lines) = steps.get(index.checked_sub(1)?)?;
    command
        .split_whitespace()
        .next()
        .is_some_and(|word| word.eq_ignore_ascii_case(keyword))
        .then_some(*lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis(text: &str) -> Analysis {
        dockerfile_froms::analyze(text, &Default::default()).unwrap()
    }

    /// The excerpt shown when the step named `step` of the Dockerfile `text` fails.
    fn shown(text: &str, step: &str) -> String {
        let lines = locate(step, &analysis(text)).unwrap();
        SourceExcerpt::new("Dockerfile", text, lines)
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_one_line_instruction_is_shown_with_two_lines_around_it_as_buildx_does() {
        let text = "FROM devbuild-test/busybox:1\nCOPY a.txt /a.txt\nRUN echo about to fail >&2 && cat /missing\n";
        // buildx 0.13 on Engine 26.1, for the same Dockerfile.
        assert_eq!(
            shown(text, "[3/3] RUN echo about to fail >&2 && cat /missing"),
            "Dockerfile:3\n\
             --------------------\n   \
               1 |     FROM devbuild-test/busybox:1\n   \
               2 |     COPY a.txt /a.txt\n   \
               3 | >>> RUN echo about to fail >&2 && cat /missing\n   \
               4 |     \n\
             --------------------\n"
        );
    }

    #[test]
    fn a_missing_base_image_points_at_its_from() {
        let text = "FROM 127.0.0.1:1/nope/none:1\nRUN true\n";
        assert_eq!(
            shown(text, "[internal] load metadata for 127.0.0.1:1/nope/none:1"),
            "Dockerfile:1\n\
             --------------------\n   \
               1 | >>> FROM 127.0.0.1:1/nope/none:1\n   \
               2 |     RUN true\n   \
               3 |     \n\
             --------------------\n"
        );
    }

    #[test]
    fn steps_of_named_stages_count_from_and_the_instructions_with_steps() {
        let text = "FROM alpine:3.20 AS build\nENV A=1\nWORKDIR /src\nRUN make \\\n  all\n\
                    FROM scratch\nCOPY --from=build /src/app /app\n";
        let analysis = analysis(text);
        let lines = locate("[build 3/3] RUN make   all", &analysis).unwrap();
        assert_eq!(lines, Lines { start: 4, end: 5 });
        let excerpt = SourceExcerpt::new("Dockerfile", text, lines).unwrap();
        let marked: Vec<u32> = excerpt
            .lines
            .iter()
            .filter(|l| l.failing)
            .map(|l| l.line)
            .collect();
        assert_eq!(marked, [4, 5]);
        assert_eq!(excerpt.lines.first().unwrap().line, 3);
        assert_eq!(excerpt.lines.last().unwrap().line, 6);
        // A stage on scratch has no FROM step.
        assert_eq!(
            locate("[stage-1 1/1] COPY --from=build /src/app /app", &analysis),
            Some(Lines { start: 7, end: 7 })
        );
        // Names that do not fit the Dockerfile give nothing rather than a wrong line.
        assert_eq!(locate("[build 3/4] RUN make", &analysis), None);
        assert_eq!(locate("[build 2/3] RUN make", &analysis), None);
        assert_eq!(locate("exporting to image", &analysis), None);
        assert_eq!(locate("[2/2] RUN true", &analysis), None);
    }
}
