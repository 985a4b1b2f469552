//! Docker-backed: `devbuild build` makes the same image as `docker buildx build` from the same
//! directory, for a table of Dockerfiles that read the context in every way BuildKit knows
//! (COPY and ADD of a directory, a file, wildcards, paths through symlinks, dot files,
//! `.dockerignore` exceptions, `RUN --mount=type=bind`, multi-stage builds, `COPY . .`, no
//! COPY at all, sources named by ARG, by an ENV of the base image, by an `ONBUILD` trigger of
//! the base image, heredocs).
//!
//! This is the proof that devbuild may send only the context paths the Dockerfile reads
//! (`DESIGN.md`, "Sending only what the build reads"): whatever devbuild leaves out, the
//! image must not change. buildx is the oracle: it asks BuildKit's own file sync for exactly
//! the paths BuildKit's frontend collected.
//!
//! Each case is built by both tools on the same engine from its own copy of one fixture
//! tree, and the two images' filesystems (exported through a container) are compared path
//! by path: type, permission bits, owner, size, sha256 of the contents, symlink or hardlink
//! target, device numbers. Every case is built and compared before the one assertion, which
//! lists every case that differs and every differing path. With each failing case comes
//! what devbuild reported about the context it sent (its `--progress=json` events).
//!
//! What the engines do that the comparison accounts for:
//!
//! * Modification times differ between any two builds (`WORKDIR`, `RUN` and the parent
//!   directories COPY creates are stamped when they are made), so they are not compared.
//! * Both tools build with `--no-cache`: BuildKit's cache key of a COPY is the content of
//!   what it copies, so without it the second tool's build would reuse the first one's layer
//!   and the comparison would prove nothing.
//! * The export of a container adds the same paths to both images (`/.dockerenv`,
//!   `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`, `/dev/console`, `/dev/pts`,
//!   `/dev/shm`, `/proc`, `/sys`, all empty): equal on both sides, so nothing is excluded.
//! * BuildKit resolves no source path *through* a symlink to `.` or `..` (`COPY toroot/src`
//!   with `toroot -> .` fails with "not found" on both engines, with buildx as with
//!   devbuild); the table copies such links themselves, which both engines do.
//! * Engine 26.1 runs the whole table; Engine 20.10 (BuildKit 0.8) a smaller one. All of it
//!   but the heredoc (which 20.10's built-in frontend reads as instructions) passes there too.
//!
//! Two cases pin a known devbuild bug ([`Case::known_devbuild_only`]): the engine reads the
//! Dockerfile from the uploaded tar, so devbuild always puts it there (under a generated name
//! when it lies outside the context), and BuildKit applies no `.dockerignore` to a tar, so
//! `COPY . …` brings a Dockerfile into devbuild's image that buildx's does not have.
//!
//! buildx runs with a `DOCKER_CONFIG` of its own (holding only the harness's buildx plugin),
//! and so does devbuild: buildx writes its build records into `DOCKER_CONFIG`, and the
//! harness's directory is shared by every worktree. No case needs a registry credential.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use devbuild_tests::{engine_test, ImageFs, ImageGuard, TestEngine, TestEnv};

/// One build made with both tools.
struct Case {
    /// What the case is, in the failure report.
    name: &'static str,
    /// The Dockerfile, with `{base}` (a busybox image), `{env_base}` (one with
    /// `ENV SRCDIR=src`) and `{onbuild_base}` (one with `ONBUILD COPY other /onbuild`).
    dockerfile: &'static str,
    /// Files added to the fixture for this case only (`.dockerignore`, …): path, contents.
    files: &'static [(&'static str, &'static str)],
    /// `--build-arg` values.
    build_args: &'static [(&'static str, &'static str)],
    /// Where the Dockerfile is, relative to the context, given to both tools with `-f`;
    /// `None`: `Dockerfile` in the context, and no `-f`.
    dockerfile_path: Option<&'static str>,
    /// A known devbuild bug, pinned: the paths (`*` at the end matches any rest) that only
    /// devbuild's image has today. The rest of the image is still compared, and when the bug
    /// is fixed the case fails until this is removed.
    known_devbuild_only: Option<&'static str>,
    /// What devbuild must have sent of the context.
    sends: Sends,
}

/// What of the context devbuild sends for a case (from its `context_selected` and final
/// `upload_progress` events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sends {
    /// The paths the Dockerfile reads, leaving some out (at least the unused 1 MiB file).
    Part,
    /// Everything `.dockerignore` allows: nothing is left out as unused.
    All,
    /// Nothing but the Dockerfile.
    Nothing,
}

/// A case with no extra files and no build args.
const fn case(name: &'static str, dockerfile: &'static str) -> Case {
    Case {
        name,
        dockerfile,
        files: &[],
        build_args: &[],
        dockerfile_path: None,
        known_devbuild_only: None,
        sends: Sends::Part,
    }
}

/// A case that reads the whole context.
const fn reads_all(name: &'static str, dockerfile: &'static str) -> Case {
    Case {
        sends: Sends::All,
        ..case(name, dockerfile)
    }
}

/// The table. The fixture each case starts from is [`fixture`].
const CASES: &[Case] = &[
    case("copy_dir", "FROM {base}\nCOPY src /src\n"),
    case("copy_dir_contents", "FROM {base}\nCOPY src/ /contents/\n"),
    case("copy_file", "FROM {base}\nCOPY package.json /\n"),
    case("copy_root_wildcard", "FROM {base}\nCOPY *.json /app/\n"),
    case(
        "node_layout",
        "FROM {base}\nWORKDIR /app\nCOPY package*.json ./\n\
         RUN wc -c package.json package-lock.json > sizes\nCOPY src ./src\n",
    ),
    case(
        "wildcard_in_a_dir_name",
        "FROM {base}\nCOPY s?c/*.txt /txt/\n",
    ),
    case("through_a_symlinked_dir", "FROM {base}\nCOPY a/link/x /x\n"),
    case(
        "a_symlinked_dir_itself",
        "FROM {base}\nCOPY a/link /linked\n",
    ),
    case(
        "through_an_absolute_symlink",
        "FROM {base}\nCOPY abs/x /x\n",
    ),
    // BuildKit resolves no path *through* a link to `.` or `..` (`COPY toroot/src` fails
    // with "not found" on both engines, with buildx as with devbuild): the links themselves.
    reads_all("a_link_to_the_root", "FROM {base}\nCOPY toroot/ /all/\n"),
    reads_all("a_link_upwards", "FROM {base}\nCOPY lnkdir/up /up\n"),
    case("dot_file", "FROM {base}\nCOPY src/.env /\n"),
    case("dot_dir", "FROM {base}\nCOPY src/.hidden /hidden\n"),
    case(
        "dotdot_inside_and_above",
        "FROM {base}\nCOPY ./src/../other/ /o\nCOPY ../tools /t\n",
    ),
    Case {
        files: &[(".dockerignore", "src/sub\n!src/sub/keep\n")],
        ..case(
            "dockerignore_exception_in_a_copied_dir",
            "FROM {base}\nCOPY src /src\n",
        )
    },
    Case {
        files: &[(
            ".dockerignore",
            "**/*.txt\n!src/main.txt\nunused.bin\n.dockerignore\n",
        )],
        ..reads_all("dockerignore_with_copy_all", "FROM {base}\nCOPY . /ctx\n")
    },
    Case {
        files: &[
            (".dockerignore", "src\n"),
            ("Dockerfile.dockerignore", "src/sub\n"),
        ],
        ..case(
            "dockerfile_dockerignore_replaces_dockerignore",
            "FROM {base}\nCOPY src /src\n",
        )
    },
    // KNOWN BUG: the engine reads the Dockerfile from the tar, so devbuild sends it even
    // when `.dockerignore` excludes it, and BuildKit (unlike the classic builder) applies no
    // `.dockerignore` to an uploaded tar: `COPY .` brings it into the image (both engines).
    Case {
        files: &[(".dockerignore", "Dockerfile\n.dockerignore\n")],
        known_devbuild_only: Some("/ctx/Dockerfile"),
        ..reads_all(
            "dockerignore_excludes_the_dockerfile",
            "FROM {base}\nCOPY . /ctx\n",
        )
    },
    // KNOWN BUG: the same cause; a Dockerfile from outside the context travels in the tar
    // as `.dockerfile.<hex>`, and `COPY .` brings it into the image.
    Case {
        dockerfile_path: Some("../Dockerfile.outside"),
        known_devbuild_only: Some("/ctx/.dockerfile.*"),
        ..reads_all(
            "dockerfile_outside_the_context",
            "FROM {base}\nCOPY . /ctx\n",
        )
    },
    Case {
        dockerfile_path: Some("docker/app.Dockerfile"),
        files: &[("docker/app.Dockerfile.dockerignore", "unused.bin\n")],
        ..reads_all(
            "dockerfile_in_a_subdir_with_its_dockerignore",
            "FROM {base}\nCOPY . /ctx\n",
        )
    },
    case(
        "run_bind_mount",
        "FROM {base}\nRUN --mount=type=bind,source=tools,target=/t cp -r /t /out\n",
    ),
    reads_all(
        "run_bind_mount_of_everything",
        "FROM {base}\nRUN --mount=type=bind,target=/c find /c | sort > /listing\n",
    ),
    reads_all(
        "run_tmpfs_mount_next_to_a_copy",
        "FROM {base}\nRUN --mount=type=tmpfs,target=/scratch true\nCOPY src/ /s/\n",
    ),
    case(
        "multi_stage_only_the_first_copies",
        "FROM {base} AS build\nCOPY src /src\nRUN find /src | sort > /listing\n\
         FROM {base}\nCOPY --from=build /listing /listing\n\
         COPY --from=build /src/main.txt /main.txt\n",
    ),
    case(
        "multi_stage_unreachable_stage",
        "FROM {base} AS unused\nCOPY other /o\nFROM {base}\nCOPY tools /t\n",
    ),
    reads_all("copy_all", "FROM {base}\nCOPY . /ctx\n"),
    reads_all(
        "copy_all_into_workdir",
        "FROM {base}\nWORKDIR /app\nCOPY . .\n",
    ),
    case("add_dir", "FROM {base}\nADD tools /added\n"),
    Case {
        sends: Sends::Nothing,
        ..case("no_copy", "FROM {base}\nRUN echo hi > /f\n")
    },
    Case {
        sends: Sends::Nothing,
        ..case(
            "heredoc_only",
            "FROM {base}\nCOPY <<EOF /heredoc.txt\nhello\nEOF\n",
        )
    },
    case("arg_default", "FROM {base}\nARG DIR=src\nCOPY ${DIR} /d\n"),
    Case {
        build_args: &[("DIR", "other")],
        ..case(
            "arg_from_build_arg",
            "FROM {base}\nARG DIR=src\nCOPY ${DIR} /d\n",
        )
    },
    case(
        "meta_arg",
        "ARG DIR=tools\nFROM {base}\nARG DIR\nCOPY $DIR /d\n",
    ),
    case(
        "arg_expansion_default",
        "FROM {base}\nARG SUB\nCOPY src/${SUB:-sub} /d\n",
    ),
    case(
        "env_of_the_dockerfile",
        "FROM {base}\nENV D=tools\nCOPY $D /t\n",
    ),
    case(
        "env_of_the_base_image",
        "FROM {env_base}\nCOPY ${SRCDIR} /s\n",
    ),
    case(
        "onbuild_copy_of_the_base_image",
        "FROM {onbuild_base}\nRUN true\n",
    ),
];

/// The smaller table of Engine 20.10: one case of each main kind of use.
const ON_20_10: &[&str] = &[
    "copy_dir",
    "copy_root_wildcard",
    "through_a_symlinked_dir",
    "dockerignore_exception_in_a_copied_dir",
    "run_bind_mount",
    "copy_all",
    "env_of_the_base_image",
    "onbuild_copy_of_the_base_image",
];

/// The cases engine `version` runs.
fn cases_for(version: &str) -> Vec<&'static Case> {
    let smaller = version == "20.10";
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| !smaller || ON_20_10.contains(&c.name))
        .collect();
    assert!(
        !smaller || cases.len() == ON_20_10.len(),
        "ON_20_10 names a case that is not in CASES"
    );
    cases
}

/// How the fixture makes one path.
enum Make {
    /// A directory with these permission bits.
    Dir(u32),
    /// A file with these permission bits and contents.
    File(u32, Vec<u8>),
    /// A symlink to this target.
    Symlink(&'static str),
    /// A second name of this earlier path.
    Hardlink(&'static str),
}

/// The tree every case starts from, parents first: nested dirs, dot files, the Node layout,
/// modes 0755/0600/0700/0750, symlinks (through a dir, to the root, upwards, absolute,
/// dangling), a hardlink pair and a 1 MiB file no case but the whole-context ones reads.
fn fixture() -> Vec<(&'static str, Make)> {
    let text = |s: &str| s.as_bytes().to_vec();
    vec![
        (
            "package.json",
            Make::File(0o644, text("{\"name\":\"fixture\"}\n")),
        ),
        (
            "package-lock.json",
            Make::File(0o644, text("{\"lockfileVersion\":3}\n")),
        ),
        ("README.md", Make::File(0o644, text("# fixture\n"))),
        ("run.sh", Make::File(0o755, text("#!/bin/sh\necho run\n"))),
        (
            "unused.bin",
            Make::File(0o644, devbuild_tests::incompressible_bytes(1 << 20)),
        ),
        ("src", Make::Dir(0o755)),
        ("src/main.txt", Make::File(0o644, text("main\n"))),
        ("src/lib.txt", Make::File(0o644, text("lib\n"))),
        ("src/.env", Make::File(0o600, text("SECRET=1\n"))),
        ("src/.hidden", Make::Dir(0o700)),
        ("src/.hidden/x", Make::File(0o644, text("hidden\n"))),
        ("src/empty", Make::Dir(0o755)),
        ("src/sub", Make::Dir(0o755)),
        ("src/sub/keep", Make::File(0o644, text("keep\n"))),
        ("src/sub/drop", Make::File(0o644, text("drop\n"))),
        ("src/sub/deeper", Make::Dir(0o755)),
        ("src/sub/deeper/d.txt", Make::File(0o644, text("deeper\n"))),
        ("other", Make::Dir(0o750)),
        ("other/c.txt", Make::File(0o644, text("other\n"))),
        ("other/c-again", Make::Hardlink("other/c.txt")),
        ("other/private.key", Make::File(0o600, text("key\n"))),
        ("tools", Make::Dir(0o755)),
        (
            "tools/build.sh",
            Make::File(0o755, text("#!/bin/sh\necho build\n")),
        ),
        ("tools/data", Make::Dir(0o755)),
        (
            "tools/data/t.bin",
            Make::File(0o644, devbuild_tests::incompressible_bytes(4096)),
        ),
        ("a", Make::Dir(0o755)),
        ("a/link", Make::Symlink("../b")),
        ("b", Make::Dir(0o755)),
        ("b/x", Make::File(0o644, text("b/x\n"))),
        ("b/y", Make::File(0o644, text("b/y\n"))),
        ("toroot", Make::Symlink(".")),
        ("abs", Make::Symlink("/b")),
        ("dangling", Make::Symlink("nowhere")),
        ("lnkdir", Make::Dir(0o755)),
        ("lnkdir/up", Make::Symlink("..")),
    ]
}

/// Makes the fixture under `root`, then `files` (a case's own). Modes are set explicitly
/// (the umask would change them), directories' last.
fn make_context(root: &Path, files: &[(&str, &str)]) {
    let chmod = |path: &Path, mode: u32| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    };
    fs::create_dir_all(root).unwrap();
    let mut dir_modes = Vec::new();
    for (path, make) in fixture() {
        let full = root.join(path);
        match make {
            Make::Dir(mode) => {
                fs::create_dir(&full).unwrap();
                dir_modes.push((full, mode));
            }
            Make::File(mode, content) => {
                fs::write(&full, content).unwrap();
                chmod(&full, mode);
            }
            Make::Symlink(target) => symlink(target, &full).unwrap(),
            Make::Hardlink(first) => fs::hard_link(root.join(first), &full).unwrap(),
        }
    }
    for (path, content) in files {
        let full = root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }
    for (path, mode) in dir_modes.into_iter().rev() {
        chmod(&path, mode);
    }
}

/// The images a case's Dockerfile can start from.
struct BaseImages {
    /// The harness's busybox.
    base: String,
    /// `FROM {base}` + `ENV SRCDIR=src`.
    env_base: String,
    /// `FROM {base}` + `ONBUILD COPY other /onbuild`.
    onbuild_base: String,
}

impl BaseImages {
    /// `template` with the placeholders replaced by the images.
    fn fill(&self, template: &str) -> String {
        template
            .replace("{base}", &self.base)
            .replace("{env_base}", &self.env_base)
            .replace("{onbuild_base}", &self.onbuild_base)
    }
}

/// What both tools run with: the engine and a `DOCKER_CONFIG` of their own.
struct Tools {
    /// `unix://<the engine's socket>`.
    docker_host: String,
    /// A directory of the test's, with the buildx plugin in `cli-plugins/`.
    docker_config: PathBuf,
}

impl Tools {
    /// A `DOCKER_CONFIG` under `dir` whose only content is the harness's buildx plugin.
    fn new(engine: &TestEngine, dir: &Path) -> Tools {
        let harness_plugin = TestEnv::load()
            .unwrap()
            .docker_config
            .join("cli-plugins/docker-buildx");
        assert!(
            harness_plugin.is_file(),
            "{} is missing: `cargo xtask engine up` installs buildx there",
            harness_plugin.display()
        );
        let docker_config = dir.join("docker-config");
        fs::create_dir_all(docker_config.join("cli-plugins")).unwrap();
        symlink(
            &harness_plugin,
            docker_config.join("cli-plugins/docker-buildx"),
        )
        .unwrap();
        Tools {
            docker_host: format!("unix://{}", engine.socket.display()),
            docker_config,
        }
    }

    /// `program` pointed at the engine, with nothing from the caller's environment that
    /// would pick another engine or builder.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("DOCKER_HOST", &self.docker_host)
            .env("DOCKER_CONFIG", &self.docker_config)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("BUILDX_BUILDER")
            .env_remove("DOCKER_DEFAULT_PLATFORM");
        command
    }

    /// `devbuild build --progress=json --no-cache -t TAG OPTIONS… CONTEXT`.
    fn devbuild(&self, tag: &str, options: &[OsString], context: &Path) -> Output {
        let mut command = self.command(env!("CARGO_BIN_EXE_devbuild"));
        command.args(["build", "--progress=json", "--no-cache", "-t", tag]);
        command.args(options).arg(context).output().unwrap()
    }

    /// `docker buildx build --load --no-cache -t TAG OPTIONS… CONTEXT`, with the default
    /// builder (the engine's own BuildKit, docker driver).
    fn buildx(&self, tag: &str, options: &[OsString], context: &Path) -> Output {
        let mut command = self.command("docker");
        command.args([
            "buildx",
            "build",
            "--load",
            "--no-cache",
            "--progress=plain",
            "-t",
            tag,
        ]);
        command
            .args(options)
            .arg(context)
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker (the harness installs it): {e}"))
    }
}

/// The options both tools take for `case`: `-f FILE` and `--build-arg K=V`.
fn build_options(case: &Case, dockerfile: &Path) -> Vec<OsString> {
    let mut options = Vec::new();
    if case.dockerfile_path.is_some() {
        options.extend(["-f".into(), dockerfile.into()]);
    }
    for (key, value) in case.build_args {
        options.extend(["--build-arg".into(), format!("{key}={value}").into()]);
    }
    options
}

/// The last lines of `output`'s stderr and its exit status, for the report.
fn failure_of(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n      ");
    format!("{}, stderr ends:\n      {tail}", output.status)
}

/// Builds the base images with buildx (so that devbuild's own ways with images play no part
/// in them); `guard` removes them.
fn build_base_images(
    engine: &TestEngine,
    tools: &Tools,
    dir: &Path,
    guard: &mut ImageGuard,
) -> BaseImages {
    let mut build = |what: &str, instruction: &str| {
        let tag = guard.remove_later(&engine.unique_name(what));
        let context = dir.join(what);
        fs::create_dir_all(&context).unwrap();
        fs::write(
            context.join("Dockerfile"),
            format!("FROM {}\n{instruction}\n", engine.base_image),
        )
        .unwrap();
        let output = tools.buildx(&tag, &[], &context);
        assert!(
            output.status.success(),
            "buildx cannot build the base image {what}: {}",
            failure_of(&output)
        );
        tag
    };
    BaseImages {
        base: engine.base_image.clone(),
        env_base: build("sameimage-env-base", "ENV SRCDIR=src"),
        onbuild_base: build("sameimage-onbuild-base", "ONBUILD COPY other /onbuild"),
    }
}

/// What devbuild's `--progress=json` events say about the context it sent: the finished
/// upload (`upload_progress` with `done`) and any event about the context, verbatim.
fn context_report(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stdout);
    let about_the_context: Vec<String> = text
        .lines()
        .filter(|line| {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
                return false;
            };
            let name = event["event"].as_str().unwrap_or_default();
            (name == "upload_progress" && event["done"] == true) || name.contains("context")
        })
        .map(str::to_owned)
        .collect();
    if about_the_context.is_empty() {
        vec!["(no upload_progress event with done=true)".to_owned()]
    } else {
        about_the_context
    }
}

/// What is wrong with what devbuild sent for `case`, as its `--progress=json` events say:
/// the selection must be decided (every base image is in the store), and leave out what the
/// case says.
fn sent_problems(case: &Case, stdout: &[u8]) -> Vec<String> {
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let Some(selected) = events.iter().find(|e| e["event"] == "context_selected") else {
        return vec!["no context_selected event".to_owned()];
    };
    let Some(upload) = events
        .iter()
        .find(|e| e["event"] == "upload_progress" && e["done"] == true)
    else {
        return vec!["no upload_progress event with done=true".to_owned()];
    };
    let mut problems = Vec::new();
    if selected["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("not decided"))
    {
        problems.push(format!(
            "devbuild could not decide what to send: {selected}"
        ));
    }
    let unused = upload["unused"].as_u64().unwrap_or(0);
    let ok = match case.sends {
        Sends::Part => selected["used"] == "some" && unused > 0,
        Sends::All => unused == 0,
        Sends::Nothing => selected["used"] == "none" && upload["entries"] == 1,
    };
    if !ok {
        problems.push(format!(
            "devbuild should send {:?} of the context, but sent: {selected} {upload}",
            case.sends
        ));
    }
    problems
}

/// The outcome of one case.
struct Compared {
    /// What differs, one line each; empty when the images are the same.
    problems: Vec<String>,
    /// What devbuild said it sent.
    context_report: Vec<String>,
    /// How many paths the images have.
    paths: usize,
}

/// Builds `case` with both tools from a fresh copy of the fixture under `dir`, and compares
/// the images; they are removed before this returns.
fn compare(
    engine: &TestEngine,
    tools: &Tools,
    bases: &BaseImages,
    base_fs: &ImageFs,
    case: &Case,
    dir: &Path,
) -> Compared {
    // The context is a directory of its own, so that a Dockerfile can be outside it.
    let context = dir.join(case.name).join("context");
    make_context(&context, case.files);
    let dockerfile = context.join(case.dockerfile_path.unwrap_or("Dockerfile"));
    fs::create_dir_all(dockerfile.parent().unwrap()).unwrap();
    fs::write(&dockerfile, bases.fill(case.dockerfile)).unwrap();
    let options = build_options(case, &dockerfile);

    let mut guard = engine.guard();
    let devbuild_tag = guard.remove_later(&engine.unique_name("sameimage-devbuild"));
    let buildx_tag = guard.remove_later(&engine.unique_name("sameimage-buildx"));
    let devbuild = tools.devbuild(&devbuild_tag, &options, &context);
    let buildx = tools.buildx(&buildx_tag, &options, &context);
    let context_report = context_report(&devbuild.stdout);

    let mut problems = sent_problems(case, &devbuild.stdout);
    if !devbuild.status.success() {
        problems.push(format!("devbuild build failed: {}", failure_of(&devbuild)));
    }
    if !buildx.status.success() {
        problems.push(format!(
            "docker buildx build failed: {}",
            failure_of(&buildx)
        ));
    }
    if !problems.is_empty() {
        return Compared {
            problems,
            context_report,
            paths: 0,
        };
    }
    let mut devbuild_fs = ImageFs::from_tar(&engine.export_image(&devbuild_tag))
        .unwrap_or_else(|e| panic!("the export of devbuild's image: {e}"));
    let buildx_fs = ImageFs::from_tar(&engine.export_image(&buildx_tag))
        .unwrap_or_else(|e| panic!("the export of buildx's image: {e}"));
    if let Some(pattern) = case.known_devbuild_only {
        problems.extend(drop_known_devbuild_only(
            &mut devbuild_fs,
            &buildx_fs,
            pattern,
        ));
    }
    problems.extend(devbuild_fs.differences(&buildx_fs, ["devbuild", "buildx"]));
    // A case whose image is its base image would compare nothing of the context.
    if base_fs
        .differences(&buildx_fs, ["base", "buildx"])
        .is_empty()
    {
        problems.push("buildx's image is the base image: the case tests nothing".to_owned());
    }
    Compared {
        problems,
        context_report,
        paths: devbuild_fs.nodes.len(),
    }
}

/// Takes the paths matching `pattern` (`*` at the end matches any rest) out of devbuild's
/// image, where a known bug puts them; a problem when they are not there, or are in
/// buildx's image too (the bug is gone, or was never what the pin says).
fn drop_known_devbuild_only(
    devbuild_fs: &mut ImageFs,
    buildx_fs: &ImageFs,
    pattern: &str,
) -> Option<String> {
    let matches = |path: &str| match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == pattern,
    };
    if buildx_fs.nodes.keys().any(|p| matches(p)) {
        return Some(format!(
            "buildx's image has {pattern} too: drop known_devbuild_only"
        ));
    }
    let before = devbuild_fs.nodes.len();
    devbuild_fs.nodes.retain(|path, _| !matches(path));
    (devbuild_fs.nodes.len() == before).then(|| {
        format!(
            "the known bug is gone (devbuild's image has no {pattern}): drop known_devbuild_only"
        )
    })
}

/// One case's part of the failure report.
fn report(case: &Case, bases: &BaseImages, compared: &Compared) -> String {
    let mut text = format!(
        "case {}:\n  {}: {:?}\n",
        case.name,
        case.dockerfile_path.unwrap_or("Dockerfile"),
        bases.fill(case.dockerfile)
    );
    for (path, content) in case.files {
        text.push_str(&format!("  {path}: {content:?}\n"));
    }
    if !case.build_args.is_empty() {
        text.push_str(&format!("  build args: {:?}\n", case.build_args));
    }
    for problem in &compared.problems {
        text.push_str(&format!("  {problem}\n"));
    }
    text.push_str("  devbuild reported the context it sent as:\n");
    for line in &compared.context_report {
        text.push_str(&format!("    {line}\n"));
    }
    text
}

/// Builds every case `engine` runs with both tools and compares the images; one assertion at
/// the end names every case that differs.
fn same_image_as_buildx(engine: &TestEngine) {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let tools = Tools::new(engine, work.path());
    let mut base_guard = engine.guard();
    let bases = build_base_images(engine, &tools, &work.path().join("bases"), &mut base_guard);
    let base_fs = ImageFs::from_tar(&engine.export_image(&engine.base_image)).unwrap();

    let cases = cases_for(&engine.version);
    let mut reports = Vec::new();
    for case in &cases {
        let compared = compare(
            engine,
            &tools,
            &bases,
            &base_fs,
            case,
            &work.path().join("cases"),
        );
        let verdict = match (compared.problems.is_empty(), case.known_devbuild_only) {
            (false, _) => "DIFFERENT".to_owned(),
            (true, None) => "same image".to_owned(),
            (true, Some(known)) => format!("same image but for the known bug ({known})"),
        };
        // Shown with --nocapture, or when the test fails.
        eprintln!(
            "{}: {verdict} ({} paths); devbuild sent: {}",
            case.name,
            compared.paths,
            compared.context_report.join(" "),
        );
        if !compared.problems.is_empty() {
            reports.push(report(case, &bases, &compared));
        }
    }
    eprintln!(
        "engine {}: {} cases in {:.1?}",
        engine.version,
        cases.len(),
        started.elapsed()
    );
    assert!(
        reports.is_empty(),
        "engine {}: {} of {} cases give a different image with devbuild than with buildx:\n\n{}",
        engine.version,
        reports.len(),
        cases.len(),
        reports.join("\n"),
    );
}

engine_test! {
    /// Every case of the table (a smaller one on Engine 20.10) gives the same filesystem with
    /// devbuild as with buildx.
    fn builds_the_same_image_as_buildx(engine) {
        same_image_as_buildx(engine);
    }
}
