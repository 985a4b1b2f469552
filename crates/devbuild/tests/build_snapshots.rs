//! Docker-backed: snapshots of `devbuild build --progress=plain|json` for a deterministic
//! build (timings, rates and ids normalised), and of the error output of a failing step,
//! one snapshot per engine (their BuildKit versions name steps differently).

use std::path::Path;
use std::process::{Command, Output};

use devbuild_tests::{engine_test, TestEngine, TestEnv};

fn devbuild(engine: &TestEngine, args: &[&str]) -> Output {
    let env = TestEnv::load().unwrap();
    Command::new(env!("CARGO_BIN_EXE_devbuild"))
        .args(args)
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_HOST", format!("unix://{}", engine.socket.display()))
        .env("DOCKER_CONFIG", &env.docker_config)
        .output()
        .unwrap()
}

/// Whether BuildKit may report a step as cached or as done from run to run (the base
/// image's `FROM`, the context copy).
fn cache_varies(name: &str) -> bool {
    name.contains("] FROM ") || name == "copy /context /" || name.starts_with("[internal]")
}

/// The export's sub-tasks and their order vary with the engine's load: the snapshots keep
/// the output up to it.
fn before_export(text: &str) -> &str {
    match text.find("exporting to image") {
        Some(at) => &text[..text[..at].rfind('\n').map_or(0, |n| n + 1)],
        None => text,
    }
}

/// Replaces what changes from run to run: durations, log offsets, rates, digests, paths.
/// `build failed at step #<n>` for `build failed at step #7`.
fn without_step_number(text: &str) -> String {
    const AT: &str = "build failed at step #";
    match text.find(AT) {
        Some(start) => {
            let digits = start + AT.len();
            let end = text[digits..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(text.len(), |n| digits + n);
            format!("{}<n>{}", &text[..digits], &text[end..])
        }
        None => text.to_owned(),
    }
}

fn normalise(text: &str, dir: &Path, tag: &str) -> String {
    let mut out = String::new();
    let mut varies = false;
    for line in text.lines() {
        if let Some((_, name)) = line.split_once(' ').filter(|_| line.starts_with('#')) {
            if line
                .split(' ')
                .nth(1)
                .is_some_and(|w| w != "CACHED" && w != "DONE")
            {
                varies = cache_varies(name);
            }
        }
        let cached_or_done = line.ends_with(" CACHED") || line.contains(" DONE ");
        let replaced;
        let line = if varies && cached_or_done && line.starts_with('#') {
            let step = line.split(' ').next().unwrap_or_default();
            replaced = format!("{step} CACHED-OR-DONE");
            replaced.as_str()
        } else {
            line
        };
        let line = line.replace(&dir.display().to_string(), "<dir>");
        let line = line.replace(tag, "<tag>");
        let words: Vec<String> = line
            .split(' ')
            .map(|word| {
                if let Some(pos) = word.find("sha256:") {
                    format!("{}sha256:<digest>", &word[..pos])
                } else if word.ends_with('s') && word[..word.len() - 1].parse::<f64>().is_ok() {
                    "<t>s".to_string()
                } else if word.parse::<f64>().is_ok() && word.contains('.') {
                    "<t>".to_string()
                } else if word.ends_with("B/s") {
                    "<rate>".to_string()
                } else {
                    word.to_string()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

/// BuildKit shares a step with a concurrent build of another test on the same engine when
/// both define it alike (the base image's `FROM`, loading its metadata): the step's name
/// then comes from that build (`[1/2] FROM` for a three-step Dockerfile), and its lines
/// may be interrupted by other steps and resumed. For those steps, keep one group with
/// the position left out.
fn stable_groups(text: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut groups: Vec<String> = Vec::new();
    // The steps that vary go where the first of them was, in BuildKit's order: they run
    // concurrently, and their lines come in any order.
    let mut varying: Vec<(u8, String)> = Vec::new();
    let mut varying_at = None;
    for group in text.split("\n\n") {
        let mut lines = group.lines();
        let Some(header) = lines.next() else {
            continue;
        };
        let (step, name) = header.split_once(' ').unwrap_or((header, ""));
        if !cache_varies(name) {
            groups.push(group.trim_end().to_owned());
            continue;
        }
        let name = match name.split_once("] FROM ") {
            Some((_, image)) => format!("[<n>] FROM {image}"),
            None => name.to_owned(),
        };
        if !seen.insert(name.clone()) {
            continue;
        }
        let rank = varying_rank(&name);
        varying_at.get_or_insert(groups.len());
        varying.push((rank, format!("{step} {name}\n{step} CACHED-OR-DONE")));
    }
    varying.sort_by_key(|(rank, _)| *rank);
    let at = varying_at.unwrap_or(groups.len());
    groups.splice(at..at, varying.into_iter().map(|(_, group)| group));
    renumber_steps(&(groups.join("\n\n") + "\n"))
}

/// Numbers the BuildKit steps (`#1`, `#2`, … but devbuild's own `#0`) in the order they
/// first appear, so that a step shared with a concurrent build and left out above leaves
/// no gap.
fn renumber_steps(text: &str) -> String {
    let mut numbers = std::collections::HashMap::new();
    let mut out = String::new();
    for line in text.lines() {
        let renumbered = line
            .strip_prefix('#')
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(n, rest)| Some((n.parse::<u32>().ok()?, rest)))
            .filter(|(n, _)| *n > 0)
            .map(|(n, rest)| {
                let next = numbers.len() as u32 + 1;
                format!("#{} {rest}", numbers.entry(n).or_insert(next))
            });
        out.push_str(renumbered.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Where a step whose name is `name` goes among the steps that vary (see
/// [`stable_groups`]): BuildKit runs them concurrently, in any order.
fn varying_rank(name: &str) -> u8 {
    if name == "[internal] load remote build context" {
        0
    } else if name == "copy /context /" {
        1
    } else if name.starts_with("[internal] load metadata") {
        2
    } else {
        3
    }
}

/// JSON events with the varying fields replaced, and the steps that vary kept once each,
/// in a fixed order where the first of them was (as [`stable_groups`] does).
fn normalise_json(text: &str, dir: &Path, tag: &str) -> String {
    let mut events: Vec<serde_json::Value> = Vec::new();
    let mut varying: Vec<(u8, serde_json::Value)> = Vec::new();
    let mut varying_at = None;
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in ["duration_ms", "bytes_per_sec", "digest", "id", "image_id"] {
            if let Some(value) = event.get_mut(key) {
                *value = serde_json::json!(format!("<{key}>"));
            }
        }
        // Mid-upload progress depends on timing: keep only the final one.
        if event["event"] == "upload_progress" && event["done"] != true {
            continue;
        }
        if event["event"] == "step_progress"
            || event["event"] == "stream"
            || event["event"] == "image_id"
            || event["name"] == "exporting to image"
        {
            continue;
        }
        // Cached in one run, done in another: keep only that the step was there.
        if event["name"].as_str().is_some_and(cache_varies) {
            if event["event"] != "step_started" && event["event"] != "step_cached" {
                continue;
            }
            event["event"] = serde_json::json!("step_started_or_cached");
            if let Some((_, image)) = event["name"].as_str().and_then(|n| n.split_once("] FROM ")) {
                event["name"] = serde_json::json!(format!("[<n>] FROM {image}"));
            }
            let name = event["name"].as_str().unwrap_or_default().to_owned();
            if seen.insert(name.clone()) {
                varying_at.get_or_insert(events.len());
                varying.push((varying_rank(&name), event));
            }
            continue;
        }
        events.push(event);
    }
    varying.sort_by_key(|(rank, _)| *rank);
    let at = varying_at.unwrap_or(events.len());
    events.splice(at..at, varying.into_iter().map(|(_, event)| event));
    // A step left out above (or shared with a concurrent build) keeps its number: number
    // the steps kept in the order they appear.
    let mut steps = std::collections::HashMap::new();
    let mut out = String::new();
    for mut event in events {
        if let Some(step) = event["step"].as_u64() {
            let next = steps.len() as u64 + 1;
            event["step"] = serde_json::json!(*steps.entry(step).or_insert(next));
        }
        out.push_str(&normalise(&event.to_string(), dir, tag));
    }
    out
}

/// The groups (`#N name` … up to a blank line) of two plain outputs side by side, devbuild's
/// on the left and buildx's on the right, each next to the group of the same step: the
/// steps in devbuild's order, then those only buildx has. The trailer after a failure (the
/// `------` block, the excerpt, the error) is the last group of each.
fn side_by_side(devbuild: &str, buildx: &str) -> String {
    fn key(group: &str) -> String {
        let header = group.lines().next().unwrap_or_default();
        let name = header.split_once(' ').map_or(header, |(_, name)| name);
        match name.split_once("] FROM ") {
            Some((_, image)) => format!("FROM {image}"),
            None => name.to_owned(),
        }
    }
    fn groups(text: &str) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for group in text.trim_end().split("\n\n") {
            // The trailer after a failure joins the failed step's group in both outputs.
            match group.find("\n------\n") {
                Some(at) => {
                    groups.push(group[..at].to_owned());
                    groups.push(group[at + 1..].to_owned());
                }
                None => groups.push(group.to_owned()),
            }
        }
        groups
    }
    const WIDTH: usize = 60;
    let left = groups(devbuild);
    let mut right = groups(buildx);
    let mut rows: Vec<(String, String)> = Vec::new();
    for group in left {
        let trailer = group.starts_with("------");
        let matched = right
            .iter()
            .position(|r| {
                if trailer {
                    r.starts_with("------")
                } else {
                    key(r) == key(&group)
                }
            })
            .map(|i| right.remove(i))
            .unwrap_or_default();
        rows.push((group, matched));
    }
    rows.extend(right.into_iter().map(|r| (String::new(), r)));
    let mut out = format!("{:<WIDTH$} | buildx\n", "devbuild");
    for (l, r) in rows {
        out.push_str(&format!("{} | {}\n", "-".repeat(WIDTH), "-".repeat(WIDTH)));
        let (l, r): (Vec<&str>, Vec<&str>) = (l.lines().collect(), r.lines().collect());
        for i in 0..l.len().max(r.len()) {
            let left = l.get(i).copied().unwrap_or_default();
            let right = r.get(i).copied().unwrap_or_default();
            out.push_str(format!("{left:<WIDTH$} | {right}").trim_end());
            out.push('\n');
        }
    }
    out
}

fn buildx_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/buildx")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn context(engine: &TestEngine, run: &str) -> tempfile::TempDir {
    context_from(&engine.base_image, run)
}

/// [`context`] on another base image.
fn context_from(base: &str, run: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY a.txt /a.txt\nRUN {run}\n"),
    )
    .unwrap();
    // Unique content: BuildKit merges identical steps of concurrent builds, and would report
    // one of them as cached.
    std::fs::write(
        dir.path().join("a.txt"),
        format!("{} {run}\n", dir.path().display()),
    )
    .unwrap();
    dir
}

engine_test! {
    /// devbuild's `--progress=plain` next to buildx's for the same builds on Engine 26.1
    /// (`tests/data/buildx/`): a build, the same build cached, a failing build.
    fn side_by_side_with_buildx(test) {
        if test.version != "26.1" {
            return; // buildx's output was captured on 26.1; 20.10's BuildKit names steps otherwise.
        }
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("devbuild-sbs"));
        // A base of its own: another test's use of the shared one (a re-tag, a removal) can
        // turn the cached build's hits into misses. Shown under the shared name, as buildx's
        // fixture has it.
        let base = guard.own_base();
        let dir = context_from(&base, "echo devbuild");
        let path = dir.path().to_str().unwrap();
        for (args, fixture) in [
            (&["build", "--no-cache", "--progress=plain", "-t", &tag, path][..], "success"),
            (&["build", "--progress=plain", "-t", &tag, path][..], "cached"),
        ] {
            let output = devbuild(test, args);
            let stderr = String::from_utf8_lossy(&output.stderr).replace(&base, &test.base_image);
            assert_eq!(output.status.code(), Some(0), "{stderr}");
            let ours = stable_groups(&normalise(before_export(&stderr), dir.path(), &tag));
            let theirs = buildx_fixture(&format!("{fixture}.txt"));
            insta::assert_snapshot!(
                format!("side_by_side_{fixture}"),
                side_by_side(&ours, before_export(&theirs))
            );
        }
        let dir = context(test, "echo about to fail >&2 && cat /missing");
        let output = devbuild(test, &["build", "--no-cache", "--progress=plain", dir.path().to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        let ours = stable_groups(&normalise(&stderr, dir.path(), "<no tag>"));
        insta::assert_snapshot!(
            "side_by_side_failure",
            side_by_side(&ours, &buildx_fixture("failure.txt"))
        );
    }

    /// devbuild's pull of a build's base image next to `docker pull`'s output for the same
    /// image on Engine 26.1 (`tests/data/buildx/pull.txt`): the same lines, in a `#N [pull]`
    /// group.
    fn side_by_side_pull_with_docker_pull(test) {
        if test.version != "26.1" {
            return; // `docker pull` was captured on 26.1.
        }
        let mut guard = test.guard();
        // A copy only the registry has: the build pulls it, with the harness's credentials.
        let image = guard.remove_later(&test.registry.copy_private_image(&test.private_image));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {image}\nLABEL devbuild.test=pull\n"),
        )
        .unwrap();
        let output = devbuild(test, &["build", "--progress=plain", dir.path().to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let (registry, repository) = image.split_once('/').unwrap();
        let repository = repository.rsplit_once(':').map_or(repository, |(r, _)| r);
        let pull = stderr
            .split("\n\n")
            .find(|group| group.lines().next().is_some_and(|l| l.contains(" [pull] ")))
            .unwrap_or_else(|| panic!("no [pull] group in {stderr}"))
            .replace(registry, "<registry>")
            .replace(repository, "<repository>");
        let ours = normalise(&pull, dir.path(), "<no tag>");
        let theirs = buildx_fixture("pull.txt");
        // The group's header, then each of its lines next to the line `docker pull` printed.
        let mut lines = ours.lines();
        let mut out = format!("{:<60} | docker pull\n", "devbuild");
        out.push_str(lines.next().unwrap_or_default());
        out.push('\n');
        let (ours, theirs): (Vec<&str>, Vec<&str>) = (lines.collect(), theirs.lines().collect());
        for i in 0..ours.len().max(theirs.len()) {
            let left = ours.get(i).copied().unwrap_or_default();
            let right = theirs.get(i).copied().unwrap_or_default();
            out.push_str(format!("{left:<60} | {right}").trim_end());
            out.push('\n');
        }
        insta::assert_snapshot!("side_by_side_pull", out);
    }

    /// `--progress=plain` and `--progress=json` of the same deterministic build.
    fn plain_and_json_output(test) {
        let mut guard = test.guard();
        let tag = guard.remove_later(&test.unique_name("devbuild-snap"));
        let dir = context(test, "echo devbuild");
        let path = dir.path().to_str().unwrap();
        let output = devbuild(test, &["build", "--no-cache", "--progress=plain", "-t", &tag, path]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        insta::assert_snapshot!(
            format!("plain_{}", test.version.replace('.', "_")),
            stable_groups(&normalise(before_export(&stderr), dir.path(), &tag))
        );
        assert!(stderr.contains("naming to docker.io/"), "{stderr}");

        let output = devbuild(test, &["build", "--no-cache", "--progress=json", "-t", &tag, path]);
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        insta::assert_snapshot!(
            format!("json_{}", test.version.replace('.', "_")),
            normalise_json(&String::from_utf8_lossy(&output.stdout), dir.path(), &tag)
        );
    }

    /// The error output of a failing step: its log between rules, then `error: …`.
    fn failing_step_output(test) {
        let dir = context(test, "echo about to fail >&2 && cat /missing");
        let output = devbuild(test, &["build", "--no-cache", "--progress=plain", dir.path().to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        let error = &stderr[stderr.find("------").expect("the failed step's log")..];
        // The step's number counts the steps BuildKit shares with concurrent builds.
        let error = without_step_number(error);
        insta::assert_snapshot!(
            format!("failure_{}", test.version.replace('.', "_")),
            normalise(&error, dir.path(), "<no tag>")
        );
    }
}
