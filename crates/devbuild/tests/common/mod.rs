//! Helpers shared by the CLI tests.

use std::process::Output;

/// stdout, stderr and the exit status as one text, for snapshots.
pub fn transcript(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
