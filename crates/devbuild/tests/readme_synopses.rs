//! Every `devbuild` command the READMEs show exists, with every option its synopsis names:
//! each is checked against the binary's own `--help`.

use std::path::Path;
use std::process::Command;

/// `devbuild ARGS…`'s standard output, which must succeed.
fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(args)
        .output()
        .expect("devbuild runs");
    assert!(output.status.success(), "devbuild {args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// The commands `devbuild --help` lists.
fn commands() -> Vec<String> {
    let help = help(&["--help"]);
    let (_, listing) = help.split_once("Commands:\n").expect("help lists commands");
    listing
        .lines()
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

/// One command a README shows: where, the subcommand, and the words of its synopsis.
struct Shown {
    place: String,
    command: String,
    words: Vec<String>,
}

/// The indented lines of `text` that run devbuild (`devbuild CMD`, `$ devbuild CMD`,
/// `cargo run … -p devbuild -- CMD`), each with the lines that continue its synopsis.
fn shown_commands(file: &str, text: &str) -> Vec<Shown> {
    let mut shown: Vec<Shown> = Vec::new();
    let mut continuing = false;
    for (number, line) in text.lines().enumerate() {
        let Some(code) = line.strip_prefix("    ") else {
            continuing = false;
            continue;
        };
        let code = code.trim_start();
        if continuing && code.starts_with('[') {
            let last = shown.last_mut().expect("a synopsis is continued");
            last.words.extend(code.split_whitespace().map(String::from));
            continue;
        }
        let code = code.strip_prefix("$ ").unwrap_or(code);
        let rest = code.strip_prefix("devbuild ").or_else(|| {
            code.starts_with("cargo run")
                .then(|| code.split_once("-p devbuild -- "))
                .flatten()
                .map(|(_, rest)| rest)
        });
        continuing = false;
        if let Some(rest) = rest {
            let mut words = rest.split_whitespace().map(String::from);
            let command = words.next().unwrap_or_default();
            shown.push(Shown {
                place: format!("{file}:{}", number + 1),
                command,
                words: words.collect(),
            });
            continuing = true;
        }
    }
    shown
}

/// The options a synopsis word names: `--name`, `-x`, and both of `-o|--output`.
fn options(word: &str) -> Vec<String> {
    word.split(['[', ']', '|', '='])
        .filter(|part| part.starts_with('-') && part.len() > 1 && *part != "-")
        .map(|part| part.trim_end_matches("...").to_string())
        .collect()
}

/// Whether the help line `line` declares `option` (`  -o, --output <OUTPUT>  …`, or
/// `--compress[=<BOOL>]` for an option whose value is optional).
fn declares(line: &str, option: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('-')
        && line.split_whitespace().take(2).any(|word| {
            let name = word.trim_end_matches(',');
            name.split(['[', '=']).next() == Some(option)
        })
}

#[test]
fn every_command_and_option_the_readmes_show_is_in_the_help() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let commands = commands();
    assert!(commands.contains(&"build".to_string()), "{commands:?}");
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in ["README.md", "crates/devbuild/README.md"] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        for shown in shown_commands(file, &text) {
            checked += 1;
            if !commands.contains(&shown.command) {
                problems.push(format!(
                    "{}: `devbuild {}` is not a command",
                    shown.place, shown.command
                ));
                continue;
            }
            let help = help(&[&shown.command, "--help"]);
            for option in shown.words.iter().flat_map(|w| options(w)) {
                if !help.lines().any(|line| declares(line, &option)) {
                    problems.push(format!(
                        "{}: `devbuild {} --help` has no {option}",
                        shown.place, shown.command
                    ));
                }
            }
        }
    }
    assert!(checked >= 8, "found only {checked} commands in the READMEs");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readmes_give_pull_s_synopsis_with_every_option_of_its_help() {
    let help = help(&["pull", "--help"]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for file in ["README.md", "crates/devbuild/README.md"] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        let synopsis = shown_commands(file, &text)
            .into_iter()
            .find(|shown| shown.command == "pull" && shown.words.iter().any(|w| w.starts_with('[')))
            .unwrap_or_else(|| panic!("{file} gives no synopsis of `devbuild pull`"));
        let given: Vec<String> = synopsis.words.iter().flat_map(|w| options(w)).collect();
        for line in help.lines().map(str::trim_start) {
            let mut words = line.split_whitespace().map(|w| w.trim_end_matches(','));
            let first = words.next().unwrap_or("");
            let long = if first.starts_with("--") {
                Some(first)
            } else {
                words.next()
            };
            let Some(option) = long.filter(|o| o.starts_with("--")) else {
                continue;
            };
            if !first.starts_with('-') || matches!(option, "--help" | "--version") {
                continue;
            }
            let named = given.iter().any(|g| g == option || g == first);
            assert!(
                named,
                "{}: the synopsis of `devbuild pull` lacks {option}",
                synopsis.place
            );
        }
    }
}
