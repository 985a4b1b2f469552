//! The READMEs' `cargo` commands exist as written (run as an ordinary test, like `tidy`):
//! every `cargo xtask COMMAND` is a command of xtask's, every `-p PACKAGE` a workspace
//! package, every `--example NAME` an example of that package, every `cargo install --path
//! DIR` a package with a binary; and each crate's README gives the `Cargo.toml` line that
//! depends on it, which the workspace README repeats.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use crate::workspace;
    use crate::{COMMANDS, HIDDEN_COMMANDS};

    /// The workspace's crates under `crates/`.
    fn crates() -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(workspace::root().join("crates"))
            .expect("crates/")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Cargo.toml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The READMEs: the workspace's, each crate's, the examples'.
    fn readmes() -> Vec<(String, String)> {
        let root = workspace::root();
        let mut files = vec![
            "README.md".to_string(),
            "examples/hello/README.md".to_string(),
        ];
        files.extend(crates().iter().map(|c| format!("crates/{c}/README.md")));
        files
            .into_iter()
            .filter(|f| root.join(f).is_file())
            .map(|f| {
                let text = fs::read_to_string(root.join(&f)).expect("readable README");
                (f, text)
            })
            .collect()
    }

    /// The words of every `cargo …` command in `text`, in code (indented or between
    /// backticks), each cut at the first word that is not part of it.
    fn cargo_commands(text: &str) -> Vec<Vec<String>> {
        let mut commands = Vec::new();
        for line in text.lines() {
            let mut rest = line;
            while let Some(at) = rest.find("cargo ") {
                let before = &rest[..at];
                let tail = &rest[at..];
                let end = tail.find(['`', '#', ')', '"', ';']).unwrap_or(tail.len());
                let in_code = before.ends_with('`')
                    || before.ends_with("$ ")
                    || before.trim().is_empty() && line.starts_with("    ");
                if in_code {
                    commands.push(tail[..end].split_whitespace().map(String::from).collect());
                }
                rest = &tail[end..];
            }
        }
        commands
    }

    /// The value after `flag` in `words` (`-p x`, `--package x`, `--example x`, `--path x`).
    fn value<'a>(words: &'a [String], flags: &[&str]) -> Option<&'a str> {
        words
            .iter()
            .position(|w| flags.contains(&w.as_str()))
            .and_then(|i| words.get(i + 1))
            .map(String::as_str)
    }

    #[test]
    fn every_cargo_command_the_readmes_show_exists() {
        let root = workspace::root();
        let crates = crates();
        let packages: Vec<&str> = crates
            .iter()
            .map(String::as_str)
            .chain(["xtask", "devbuild-tests"])
            .collect();
        let mut problems = Vec::new();
        let mut checked = 0;
        for (file, text) in readmes() {
            for words in cargo_commands(&text) {
                checked += 1;
                let shown = words.join(" ");
                if words.get(1).map(String::as_str) == Some("xtask") {
                    let Some(command) = words.get(2) else {
                        continue;
                    };
                    let known = COMMANDS
                        .iter()
                        .chain(&HIDDEN_COMMANDS)
                        .any(|(name, _)| name == command)
                        || command == "--help";
                    if !known && !command.starts_with('<') {
                        problems.push(format!("{file}: `{shown}`: no xtask command {command}"));
                    }
                }
                if let Some(package) = value(&words, &["-p", "--package"]) {
                    if !packages.contains(&package) {
                        problems.push(format!("{file}: `{shown}`: no package {package}"));
                    }
                    if let Some(example) = value(&words, &["--example"]) {
                        let path = format!("crates/{package}/examples/{example}.rs");
                        if !root.join(&path).is_file() {
                            problems.push(format!("{file}: `{shown}`: no {path}"));
                        }
                    }
                }
                if words.get(1).map(String::as_str) == Some("install") {
                    if let Some(dir) = value(&words, &["--path"]) {
                        let has_bin = root.join(dir).join("src/main.rs").is_file()
                            || fs::read_to_string(root.join(dir).join("Cargo.toml"))
                                .is_ok_and(|t| t.contains("[[bin]]"));
                        if !has_bin {
                            problems.push(format!("{file}: `{shown}`: {dir} has no binary"));
                        }
                    }
                }
            }
        }
        assert!(checked > 30, "found only {checked} cargo commands");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn each_crate_s_readme_gives_its_cargo_toml_line() {
        let root = workspace::root();
        let top = fs::read_to_string(root.join("README.md")).expect("README.md");
        for name in crates() {
            let line = format!("{name} = {{ path = \"../devbuild/crates/{name}\"");
            let readme = fs::read_to_string(root.join(format!("crates/{name}/README.md")))
                .expect("crate README");
            let manifest = fs::read_to_string(root.join(format!("crates/{name}/Cargo.toml")))
                .expect("crate manifest");
            assert!(
                manifest.contains(&format!("name = \"{name}\"")),
                "crates/{name} is not the package {name}"
            );
            for (file, text) in [
                (format!("crates/{name}/README.md"), &readme),
                ("README.md".into(), &top),
            ] {
                let given = text
                    .lines()
                    .find(|l| l.starts_with(&line))
                    .unwrap_or_else(|| panic!("{file} does not give `{line} … }}`"));
                // Features the line turns on exist.
                if let Some((_, features)) = given.split_once("features = [") {
                    let features = features.split(']').next().unwrap_or("");
                    for feature in features.split(',').map(|f| f.trim().trim_matches('"')) {
                        assert!(
                            manifest.contains(&format!("\n{feature} = [")),
                            "{file}: {name} has no feature {feature}"
                        );
                    }
                }
            }
            assert!(Path::new(&root.join(format!("crates/{name}/src/lib.rs"))).is_file());
        }
    }
}
