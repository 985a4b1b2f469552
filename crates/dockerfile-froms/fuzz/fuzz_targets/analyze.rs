//! Fuzz target: `analyze` must never panic, whatever the text and options.
#![no_main]

use dockerfile_froms::{analyze, AnalyzeOptions, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks options, the rest is the Dockerfile.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let Ok(build_platform) = Platform::parse("linux/amd64") else {
        return;
    };
    let mut options = AnalyzeOptions {
        build_args: Default::default(),
        target: None,
        target_platform: None,
        build_platform,
    };
    if selector & 1 != 0 {
        options.target_platform = Platform::parse("linux/arm/v7").ok();
    }
    if selector & 2 != 0 {
        options.target = Some("build".into());
    }
    if selector & 4 != 0 {
        options.build_args.insert("TAG".into(), "3.19".into());
        options.build_args.insert("TARGETARCH".into(), "$X".into());
    }
    if let Ok(analysis) = analyze(&text, &options) {
        // Exercise the serialisation the CLI uses, too.
        let _ = analysis.warnings.iter().map(ToString::to_string).count();
    }
});
