//! Parses each argument as an image reference (or, with `--platform`, as a platform) and
//! prints its parts, or the error in the Go original's wording.
//!
//!     cargo run -p image-ref --example parse -- alpine localhost:5000/team/app:1
//!     cargo run -p image-ref --example parse -- --platform linux/arm arm64/v8

use image_ref::{ImageRef, Platform};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let platforms = args.first().is_some_and(|a| a == "--platform");
    if platforms {
        args.remove(0);
    }
    let mut failed = false;
    for arg in &args {
        if platforms {
            match Platform::parse(arg) {
                Ok(p) => println!("{arg}: {p} (os {}, arch {})", p.os, p.architecture),
                Err(e) => {
                    failed = true;
                    eprintln!("{arg}: {e}");
                }
            }
        } else {
            match ImageRef::parse(arg) {
                Ok(r) => println!(
                    "{arg}: {r} (registry {}, name {}, familiar {})",
                    r.domain(),
                    r.name(),
                    r.familiar()
                ),
                Err(e) => {
                    failed = true;
                    eprintln!("{arg}: {e}");
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
