//! The README's sample output is what `examples/froms.rs` prints for the Dockerfile and the
//! arguments the README's command gives.

use std::path::Path;

#[allow(dead_code)] // its `main` is the example's; the test calls `froms`
#[path = "../examples/froms.rs"]
mod example;

/// The README's `$ cargo run … --example froms -- ARGS` block: its arguments and the lines
/// printed below it.
fn readme_sample() -> (Vec<String>, String) {
    let readme = include_str!("../README.md");
    let prefix = "$ cargo run -q -p dockerfile-froms --example froms -- ";
    let start = readme
        .find(prefix)
        .expect("the README shows the example's command");
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("the console block ends")];
    let (command, output) = block.split_once('\n').expect("output follows the command");
    let args = command[prefix.len()..]
        .split_whitespace()
        .map(String::from)
        .collect();
    (args, output.to_string())
}

#[test]
fn the_readme_sample_is_the_example_s_output_for_its_dockerfile() {
    let (mut args, expected) = readme_sample();
    // The command runs from the repository root; this test runs in the crate's directory.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dockerfile = root.join(&args[0]);
    assert!(dockerfile.is_file(), "{} is not in the repository", args[0]);
    args[0] = dockerfile.to_str().unwrap().to_string();
    let mut out = String::new();
    let code = example::froms(args, &mut out);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(out, expected);
}
