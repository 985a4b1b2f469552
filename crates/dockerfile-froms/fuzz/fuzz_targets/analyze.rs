//! Fuzz target: `analyze` must never panic, whatever the text, options and image configs.
#![no_main]

use dockerfile_froms::{analyze, AnalyzeOptions, ContextPaths, ImageConfig, ImageRef, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks options, the rest is the Dockerfile.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // After a NUL: the lines of a base image's config (`KEY=value` env or ONBUILD triggers).
    let (text, config) = text.split_once('\0').unwrap_or((&text, ""));
    let Ok(build_platform) = Platform::parse("linux/amd64") else {
        return;
    };
    let mut options = AnalyzeOptions {
        build_args: Default::default(),
        target: None,
        target_platform: None,
        build_platform,
        ..AnalyzeOptions::default()
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
    if selector & 8 != 0 {
        let (env, onbuild): (Vec<String>, Vec<String>) =
            config.lines().map(str::to_owned).partition(|l| l.contains('='));
        for image in ["alpine", "golang:1.22"] {
            if let Ok(reference) = ImageRef::parse(image) {
                let config = ImageConfig {
                    env: env.clone(),
                    onbuild: onbuild.clone(),
                };
                options.images.insert(reference, config);
            }
        }
    }
    if let Ok(analysis) = analyze(text, &options) {
        // Exercise the serialisation the CLI uses, too.
        let _ = analysis.warnings.iter().map(ToString::to_string).count();
        let _ = analysis.context.undecided.iter().map(ToString::to_string).count();
        if let ContextPaths::Some(paths) = &analysis.context.paths {
            assert!(paths.iter().all(|p| !p.is_empty() && !p.starts_with('/')));
        }
    }
});
