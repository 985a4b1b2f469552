//! The `devbuild` command.
fn main() {}
