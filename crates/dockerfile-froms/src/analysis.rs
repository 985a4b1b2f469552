//! The analysis proper: BuildKit's `toDispatchState` without the solver. Meta ARGs and the
//! built-in platform args, stage bases and platforms, the target, the dependencies that
//! `COPY --from`, `RUN --mount from=` and ONBUILD triggers add, reachability, reference
//! parsing (for every stage, reachable or not), and the checks BuildKit makes while it
//! dispatches the reachable stages.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::context::{Collector, Source};
use crate::instructions::{self, csv_fields, Command, Kind, StageDef};
use crate::lint::{looks_secret, LintConfig, Linter};
use crate::parser;
use crate::shell::{self, Env, LexOptions};
use crate::text::{go_atoi, go_quote, parse_go_bool, suggest, with_suggestion};
use crate::{
    Analysis, AnalyzeOptions, Error, ImageRef, InstructionLines, Lines, NeededImage, Origin,
    Platform, Stage, StageBase, Undecided, UndecidedReason,
};

/// The default `PATH` BuildKit sets when an image has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// An ordered list of variables (BuildKit's `llb.EnvList`).
#[derive(Debug, Clone, Default)]
pub(crate) struct VarList {
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl VarList {
    fn set(&mut self, key: &str, value: &str) {
        match self.index.get(key) {
            Some(&i) => self.entries[i].1 = value.to_string(),
            None => {
                self.index.insert(key.to_string(), self.entries.len());
                self.entries.push((key.to_string(), value.to_string()));
            }
        }
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

impl Env for VarList {
    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.entries[i].1.as_str())
    }
}

/// The variables visible while dispatching: a stack per name, undone when the walk over
/// the stage tree leaves a stage, so a stage sees exactly its ancestors' variables and
/// inheriting them costs nothing.
#[derive(Debug, Default)]
struct Scope {
    vars: HashMap<String, Vec<String>>,
    undo: Vec<String>,
}

impl Scope {
    fn push(&mut self, key: &str, value: &str) {
        self.vars
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
        self.undo.push(key.to_string());
    }

    fn mark(&self) -> usize {
        self.undo.len()
    }

    /// How many bindings of `key` are visible (shadowed ones included).
    fn depth(&self, key: &str) -> usize {
        self.vars.get(key).map_or(0, Vec::len)
    }

    fn reset(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some(key) = self.undo.pop() else { break };
            if let Some(values) = self.vars.get_mut(&key) {
                values.pop();
                if values.is_empty() {
                    self.vars.remove(&key);
                }
            }
        }
    }
}

impl Env for Scope {
    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name)?.last().map(String::as_str)
    }
}

fn err(message: impl Into<String>, line: Option<usize>) -> Error {
    Error {
        line: line.filter(|&l| l > 0),
        message: message.into(),
    }
}

/// Why a state exists: a stage, or an image/stage named by another instruction.
#[derive(Debug, Clone, Copy)]
struct Cause {
    origin: Origin,
    line: usize,
}

#[derive(Debug, Clone)]
struct Cmd {
    command: Command,
    sources: Vec<usize>,
}

#[derive(Debug, Clone)]
struct State {
    /// Index into the stages, for states that are stages.
    stage: Option<usize>,
    base_name: String,
    name: String,
    stage_name: String,
    line: usize,
    platform: Option<Platform>,
    base: Option<usize>,
    /// Dependencies in insertion order, each once.
    deps: Vec<usize>,
    dep_set: HashSet<usize>,
    commands: Vec<Cmd>,
    cause: Cause,
    unregistered: bool,
    dispatched: bool,
    resolved: bool,
    onbuild_init: bool,
    image: Option<ImageRef>,
    scratch: bool,
    // Dispatch state.
    workdir: Option<String>,
    workdir_set: bool,
    has_shell: bool,
    /// The external image at the root of this stage's bases when its config is unknown: its
    /// `ENV` may set what the Dockerfile leaves unset.
    env_image: Option<ImageRef>,
}

impl State {
    fn new(base_name: String, cause: Cause) -> State {
        State {
            stage: None,
            base_name,
            name: String::new(),
            stage_name: String::new(),
            line: cause.line,
            platform: None,
            base: None,
            deps: Vec::new(),
            dep_set: HashSet::new(),
            commands: Vec::new(),
            cause,
            unregistered: true,
            dispatched: false,
            resolved: false,
            onbuild_init: false,
            image: None,
            scratch: false,
            workdir: None,
            workdir_set: false,
            has_shell: false,
            env_image: None,
        }
    }
}

struct States {
    states: Vec<State>,
    by_name: HashMap<String, usize>,
}

impl States {
    fn add(&mut self, mut state: State) -> usize {
        if let Some(&base) = self.by_name.get(&state.base_name) {
            state.base = Some(base);
        }
        let idx = self.states.len();
        if !state.name.is_empty() {
            self.by_name.insert(state.name.to_lowercase(), idx);
        }
        self.states.push(state);
        idx
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_lowercase()).copied()
    }

    fn names(&self) -> Vec<&str> {
        self.states
            .iter()
            .filter(|s| !s.stage_name.is_empty())
            .map(|s| s.stage_name.as_str())
            .collect()
    }

    fn add_dep(&mut self, state: usize, dep: usize) {
        let st = &mut self.states[state];
        if st.dep_set.insert(dep) {
            st.deps.push(dep);
        }
    }
}

struct Ctx<'a> {
    options: &'a AnalyzeOptions,
    escape: char,
    target_platform: Platform,
    global: VarList,
    lint: Linter,
    context: Collector,
}

/// Runs the whole analysis.
pub(crate) fn analyze(text: &str, options: &AnalyzeOptions) -> Result<Analysis, Error> {
    let arg_check = match options.build_args.get("BUILDKIT_DOCKERFILE_CHECK") {
        Some(v) => Some(LintConfig::parse(v).map_err(|e| {
            err(
                format!("failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: {e}"),
                None,
            )
        })?),
        None => None,
    };
    let syntax = detect_syntax(text, options)?;
    if text.is_empty() {
        return Err(err("the Dockerfile cannot be empty", None));
    }
    let lint_config = match arg_check {
        Some(c) => c,
        None => {
            let value = parser::find_directive(text, "check", false)
                .map(|(v, _)| v.split(' ').next().unwrap_or("").to_string())
                .unwrap_or_default();
            LintConfig::parse(&value)
                .map_err(|e| err(format!("failed to parse check options: {e}"), None))?
        }
    };
    let mut lint = Linter::new(lint_config);
    let parsed = parser::parse(text).map_err(|e| err(e.message, Some(e.line)))?;
    for &line in &parsed.empty_continuations {
        lint.run(
            "NoEmptyContinuation",
            line,
            "Empty continuation line".into(),
            &[],
        );
    }
    let grouped =
        instructions::group(&parsed.nodes, &mut lint).map_err(|(m, l)| err(m, Some(l)))?;
    if grouped.stages.is_empty() {
        return Err(err("dockerfile contains no stages to build", None));
    }
    let stages = grouped.stages;
    validate_stage_names(&stages, &mut lint);
    validate_command_casing(&stages, &mut lint);

    let target_platform = options
        .target_platform
        .clone()
        .unwrap_or_else(|| options.build_platform.clone());
    let target_name = match &options.target {
        Some(t) if !t.is_empty() => t.clone(),
        _ => stages.last().map(|s| s.name.clone()).unwrap_or_default(),
    };
    let defaults = default_args(options, &target_platform, &target_name);
    let mut ctx = Ctx {
        options,
        escape: parsed.escape,
        target_platform,
        global: defaults.clone(),
        lint,
        context: Collector::default(),
    };
    validate_base_images_with_default_args(&mut ctx, &stages, &grouped.meta_args, &defaults);
    let (global, all_args) = build_meta_args(
        defaults,
        &grouped.meta_args,
        Some(&options.build_args),
        ctx.escape,
    )
    .map_err(|(m, l)| err(m, Some(l)))?;
    ctx.global = global;
    check_source_date_epoch(&mut ctx, &stages)?;

    let mut states = States {
        states: Vec::new(),
        by_name: HashMap::new(),
    };
    let mut platforms = Vec::with_capacity(stages.len());
    for (i, st) in stages.iter().enumerate() {
        let (state, platform) = build_stage_state(&mut ctx, i, st, &all_args)?;
        states.add(state);
        platforms.push(platform);
    }

    let target = match &options.target {
        Some(t) if !t.is_empty() => states.find(t).ok_or_else(|| {
            err(
                with_suggestion(
                    format!("target stage {} could not be found", go_quote(t)),
                    t,
                    states.names(),
                    true,
                ),
                None,
            )
        })?,
        _ => states.states.len() - 1,
    };

    build_dependency_graph(&mut ctx, &mut states, &stages)?;
    validate_circular_dependency(&states)?;
    if states.states.len() == 1 {
        states.states[0].stage_name.clear();
    }

    let images = resolve_stages(&mut ctx, &mut states, target)?;
    dispatch_stages(&mut ctx, &mut states, target)?;
    if let Some(message) = ctx.lint.error() {
        return Err(err(message, None));
    }
    if let Some(frontend) = syntax.as_ref().filter(|s| !is_dockerfile_frontend(s)) {
        let line = parser::find_directive(text, "syntax", true).map_or(1, |(_, line)| line);
        ctx.context.undecided(Undecided {
            line,
            image: frontend.clone(),
            reason: UndecidedReason::Frontend,
        });
    }
    // Stages are the first states, in order; their references were parsed while resolving.
    let out_stages = stages
        .iter()
        .zip(platforms)
        .enumerate()
        .map(|(i, (st, platform))| {
            let state = &states.states[i];
            let base = match (state.base, &state.image) {
                (Some(b), _) => StageBase::Stage(b),
                (None, Some(reference)) => StageBase::Image(reference.clone()),
                (None, None) => StageBase::Scratch,
            };
            Stage {
                name: (!st.name.is_empty()).then(|| st.name.clone()),
                base,
                platform,
                line: st.line,
                lines: Lines {
                    start: st.line,
                    end: st.end_line,
                },
                instructions: st
                    .commands
                    .iter()
                    .map(|cmd| InstructionLines {
                        keyword: cmd.name.to_uppercase(),
                        lines: Lines {
                            start: cmd.line,
                            end: cmd.end_line,
                        },
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Analysis {
        syntax,
        stages: out_stages,
        images,
        warnings: ctx.lint.warnings,
        context: ctx.context.finish(),
    })
}

/// Whether `image` is BuildKit's Dockerfile frontend (`docker/dockerfile`, or its
/// `-upstream` builds), whose context paths this analysis models.
fn is_dockerfile_frontend(image: &ImageRef) -> bool {
    image.domain() == "docker.io"
        && matches!(
            image.path(),
            "docker/dockerfile" | "docker/dockerfile-upstream"
        )
}

fn detect_syntax(text: &str, options: &AnalyzeOptions) -> Result<Option<ImageRef>, Error> {
    if let Some(cmdline) = options.build_args.get("BUILDKIT_SYNTAX") {
        let first = cmdline.trim().split(' ').next().unwrap_or("");
        return ImageRef::parse(first).map(Some).map_err(|e| {
            err(
                format!("failed with build-arg:BUILDKIT_SYNTAX = {cmdline}: {e}"),
                None,
            )
        });
    }
    match parser::find_directive(text, "syntax", true) {
        Some((value, line)) => {
            let first = value.split(' ').next().unwrap_or("");
            ImageRef::parse(first)
                .map(Some)
                .map_err(|e| err(e.to_string(), Some(line)))
        }
        None => Ok(None),
    }
}

fn default_args(options: &AnalyzeOptions, target: &Platform, target_name: &str) -> VarList {
    let build = &options.build_platform;
    let target_stage = if target_name.is_empty() {
        "default"
    } else {
        target_name
    };
    let values = [
        ("BUILDPLATFORM", build.to_string()),
        ("BUILDOS", build.os.clone()),
        ("BUILDOSVERSION", String::new()),
        ("BUILDARCH", build.architecture.clone()),
        ("BUILDVARIANT", build.variant.clone().unwrap_or_default()),
        ("TARGETPLATFORM", target.to_string()),
        ("TARGETOS", target.os.clone()),
        ("TARGETOSVERSION", String::new()),
        ("TARGETARCH", target.architecture.clone()),
        ("TARGETVARIANT", target.variant.clone().unwrap_or_default()),
        ("TARGETSTAGE", target_stage.to_string()),
    ];
    let mut list = VarList::default();
    for (key, value) in values {
        let value = options.build_args.get(key).cloned().unwrap_or(value);
        list.set(key, &value);
    }
    list
}

/// Meta ARGs evaluated in order over `args`; also the set of all declared meta ARG names.
fn build_meta_args(
    mut args: VarList,
    meta: &[Command],
    build_args: Option<&std::collections::BTreeMap<String, String>>,
    escape: char,
) -> Result<(VarList, BTreeSet<String>), (String, usize)> {
    let mut all = BTreeSet::new();
    for cmd in meta {
        let Kind::Arg(pairs) = &cmd.kind else {
            continue;
        };
        for (key, value) in pairs {
            let value = match build_args.and_then(|b| b.get(key)) {
                Some(v) => Some(v.clone()),
                None => match value {
                    Some(v) => Some(
                        shell::process_word(v, &args, escape)
                            .map_err(|e| (e.to_string(), cmd.line))?
                            .value,
                    ),
                    None => None,
                },
            };
            if let Some(v) = value {
                args.set(key, &v);
            }
            all.insert(key.clone());
        }
    }
    Ok((args, all))
}

/// BuildKit's `SOURCE_DATE_EPOCH` handling: a number (normalised), `context`, or the name
/// of a stage that only fetches one remote source; anything else is an error.
fn check_source_date_epoch(ctx: &mut Ctx<'_>, stages: &[StageDef]) -> Result<(), Error> {
    const KEY: &str = "SOURCE_DATE_EPOCH";
    let value = match ctx.options.build_args.get(KEY) {
        Some(v) => v.clone(),
        None => match ctx.global.get(KEY) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => return Ok(()),
        },
    };
    if value.is_empty() || value == "context" {
        return Ok(());
    }
    if let Some(n) = go_atoi(&value) {
        if ctx.global.get(KEY).is_some() {
            ctx.global.set(KEY, &n.to_string());
        }
        return Ok(());
    }
    let Some(stage) = stages.iter().find(|s| s.name.eq_ignore_ascii_case(&value)) else {
        return Err(err(format!("invalid SOURCE_DATE_EPOCH: {value}"), None));
    };
    let line = Some(stage.line);
    let mut args = ctx.global.clone();
    args.set(KEY, "");
    let base = shell::process_word(&stage.base_name, &args, ctx.escape).map_err(|e| {
        err(
            format!(
                "failed to process source stage base name {}: {e}",
                go_quote(&stage.base_name)
            ),
            line,
        )
    })?;
    if base.value != "scratch" {
        return Err(err("SOURCE_DATE_EPOCH stage must use FROM scratch", line));
    }
    let mut adds = 0;
    for cmd in &stage.commands {
        match &cmd.kind {
            Kind::Arg(_) => {}
            Kind::Add {
                paths, contents, ..
            } => {
                adds += 1;
                if adds > 1 {
                    return Err(err(
                        "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD",
                        line,
                    ));
                }
                if !contents.is_empty() || paths.len() != 2 {
                    return Err(err(
                        "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD source",
                        line,
                    ));
                }
            }
            _ => {
                return Err(err(
                    format!(
                        "SOURCE_DATE_EPOCH stage does not meet source-only requirements: unsupported {} instruction",
                        cmd.name
                    ),
                    line,
                ))
            }
        }
    }
    if adds == 0 {
        return Err(err(
            "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD",
            line,
        ));
    }
    Ok(())
}

fn validate_base_images_with_default_args(
    ctx: &mut Ctx<'_>,
    stages: &[StageDef],
    meta: &[Command],
    defaults: &VarList,
) {
    let Ok((args, _)) = build_meta_args(defaults.clone(), meta, None, ctx.escape) else {
        return;
    };
    for st in stages {
        let Ok(expanded) = shell::process_word(&st.base_name, &args, ctx.escape) else {
            return;
        };
        if ImageRef::parse(&expanded.value).is_err() {
            ctx.lint.run(
                "InvalidDefaultArgInFrom",
                st.line,
                format!(
                    "Default value for ARG {} results in empty or invalid base image name",
                    st.base_name
                ),
                &st.comments,
            );
        }
    }
}

fn report_unused_from_args(
    ctx: &mut Ctx<'_>,
    unmatched: &BTreeSet<String>,
    all_args: &BTreeSet<String>,
    st: &StageDef,
) {
    for arg in unmatched {
        if all_args.contains(arg) || ctx.global.get(arg).is_some() {
            continue;
        }
        let keys: BTreeSet<&str> = all_args
            .iter()
            .map(String::as_str)
            .chain(ctx.global.keys())
            .collect();
        let mut message = format!("FROM argument '{arg}' is not declared");
        if let Some(s) = suggest(arg, keys.iter().copied(), true) {
            message.push_str(&format!(" (did you mean {s}?)"));
        }
        ctx.lint
            .run("UndefinedArgInFrom", st.line, message, &st.comments);
    }
}

/// Expands a stage's base name and platform; returns its state and (expanded base, platform).
fn build_stage_state(
    ctx: &mut Ctx<'_>,
    index: usize,
    st: &StageDef,
    all_args: &BTreeSet<String>,
) -> Result<(State, Option<Platform>), Error> {
    let line = Some(st.line);
    let expanded = shell::process_word(&st.base_name, &ctx.global, ctx.escape)
        .map_err(|e| err(e.to_string(), line))?;
    report_unused_from_args(ctx, &expanded.unmatched, all_args, st);
    if expanded.value.is_empty() {
        return Err(err(
            format!("base name ({}) should not be blank", st.base_name),
            line,
        ));
    }
    let mut platform = None;
    if !st.platform.is_empty() {
        let m = match shell::process_word(&st.platform, &ctx.global, ctx.escape) {
            Ok(m) => m,
            Err(e) => {
                return Err(err(
                    format!("failed to process arguments for platform : {e}"),
                    line,
                ))
            }
        };
        report_unused_from_args(ctx, &m.unmatched, all_args, st);
        if m.matched.len() == 1
            && m.unmatched.is_empty()
            && m.matched.contains("TARGETPLATFORM")
            && ctx.global.get("TARGETPLATFORM") == Some(m.value.as_str())
        {
            ctx.lint.run(
                "RedundantTargetPlatform",
                st.line,
                format!(
                    "Setting platform to predefined {} in FROM is redundant as this is the default behavior",
                    st.platform
                ),
                &st.comments,
            );
        }
        if m.matched.is_empty() && m.unmatched.is_empty() {
            if let Ok(p) = Platform::parse(&m.value) {
                if !st.name.contains(&p.os) && !st.name.contains(&p.architecture) {
                    ctx.lint.run(
                        "FromPlatformFlagConstDisallowed",
                        st.line,
                        format!(
                            "FROM --platform flag should not use constant value {}",
                            go_quote(&m.value)
                        ),
                        &st.comments,
                    );
                }
            }
        }
        let suggest_unmatched = |message: String| -> String {
            for k in &m.unmatched {
                if let Some(s) = suggest(k, ctx.global.keys(), true) {
                    return format!("{message} (did you mean {s}?)");
                }
            }
            message
        };
        if m.value.is_empty() {
            return Err(err(
                suggest_unmatched(format!(
                    "empty platform value from expression {}",
                    st.platform
                )),
                line,
            ));
        }
        // BuildKit runs containerd's Parse without Normalize here: `linux/arm` stays as it is.
        match Platform::parse_unnormalized(&m.value) {
            Ok(p) => platform = Some(p),
            Err(e) => {
                return Err(err(
                    format!(
                        "failed to parse platform {}: {}",
                        st.platform,
                        suggest_unmatched(e.to_string())
                    ),
                    line,
                ))
            }
        }
    }
    let mut state = State::new(
        expanded.value.clone(),
        Cause {
            origin: Origin::From,
            line: st.line,
        },
    );
    state.stage = Some(index);
    state.unregistered = false;
    state.name = st.name.clone();
    state.stage_name = if st.name.is_empty() {
        format!("stage-{index}")
    } else {
        st.name.clone()
    };
    state.platform = platform.clone();
    Ok((state, platform))
}

/// BuildKit's `toCommand`: the states a command reads from, creating image states as needed.
fn command_sources(
    ctx: &Ctx<'_>,
    states: &mut States,
    cmd: &Command,
    onbuild: Option<usize>,
) -> Result<Vec<usize>, Error> {
    let origin_line = |origin: Origin| match onbuild {
        Some(line) => Cause {
            origin: Origin::Onbuild,
            line,
        },
        None => Cause {
            origin,
            line: cmd.line,
        },
    };
    let mut sources = Vec::new();
    match &cmd.kind {
        Kind::Copy { from, .. } if !from.is_empty() => {
            let empty = VarList::default();
            let res = shell::process_word(from, &empty, ctx.escape)
                .map_err(|e| err(e.to_string(), Some(cmd.line)))?;
            if res.value != *from {
                return Err(err("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround", Some(cmd.line)));
            }
            let src = match go_atoi(from) {
                Some(index) => {
                    if index < 0 || index as u64 >= states.states.len() as u64 {
                        return Err(err(format!("invalid stage index {index}"), Some(cmd.line)));
                    }
                    index as usize
                }
                None => match states.find(from) {
                    Some(i) => i,
                    None => {
                        let state = State::new(from.clone(), origin_line(Origin::CopyFrom));
                        states.add(state)
                    }
                },
            };
            sources.push(src);
        }
        Kind::Run { mount_froms, .. } => {
            for from in mount_froms {
                let from = if from.is_empty() { "scratch" } else { from };
                let src = match states.find(from) {
                    Some(i) => i,
                    None => {
                        let state = State::new(from.to_string(), origin_line(Origin::MountFrom));
                        states.add(state)
                    }
                };
                sources.push(src);
            }
        }
        _ => {}
    }
    Ok(sources)
}

fn build_dependency_graph(
    ctx: &mut Ctx<'_>,
    states: &mut States,
    stages: &[StageDef],
) -> Result<(), Error> {
    for d in 0..states.states.len() {
        let Some(stage) = states.states[d].stage else {
            continue;
        };
        let mut cmds = Vec::with_capacity(stages[stage].commands.len());
        for cmd in &stages[stage].commands {
            let sources = command_sources(ctx, states, cmd, None)?;
            for &src in &sources {
                states.add_dep(d, src);
            }
            cmds.push(Cmd {
                command: cmd.clone(),
                sources,
            });
        }
        states.states[d].commands = cmds;
    }
    Ok(())
}

fn validate_circular_dependency(states: &States) -> Result<(), Error> {
    let n = states.states.len();
    let mut visited = vec![false; n];
    let mut on_path = vec![false; n];
    for root in 0..n {
        if visited[root] {
            continue;
        }
        // Iterative depth-first search: (state, next dependency to look at).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        visited[root] = true;
        on_path[root] = true;
        while let Some(&mut (s, ref mut next)) = stack.last_mut() {
            let deps = &states.states[s].deps;
            if *next < deps.len() {
                let dep = deps[*next];
                *next += 1;
                if on_path[dep] {
                    return Err(err(
                        format!(
                            "circular dependency detected on stage: {}",
                            states.states[root].stage_name
                        ),
                        None,
                    ));
                }
                if !visited[dep] {
                    visited[dep] = true;
                    on_path[dep] = true;
                    stack.push((dep, 0));
                }
            } else {
                on_path[s] = false;
                stack.pop();
            }
        }
    }
    Ok(())
}

fn reachable_from(states: &States, target: usize) -> Vec<bool> {
    let mut seen = vec![false; states.states.len()];
    mark_reachable(states, &mut seen, target, &mut Vec::new());
    seen
}

/// Marks everything reachable from `from` that is not marked yet, collecting what it marks.
fn mark_reachable(states: &States, seen: &mut Vec<bool>, from: usize, marked: &mut Vec<usize>) {
    if seen.len() < states.states.len() {
        seen.resize(states.states.len(), false);
    }
    let mut stack = vec![from];
    while let Some(s) = stack.pop() {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        marked.push(s);
        let st = &states.states[s];
        if let Some(b) = st.base {
            stack.push(b);
        }
        stack.extend(st.deps.iter().copied());
    }
}

/// Resolves base images: every state's reference is parsed (reachable or not), reachable
/// ones are recorded; ONBUILD triggers of reachable stages' bases add dependencies, which
/// may make more states reachable. Incremental, so each state is handled a bounded number
/// of times.
fn resolve_stages(
    ctx: &mut Ctx<'_>,
    states: &mut States,
    target: usize,
) -> Result<Vec<NeededImage>, Error> {
    let mut images: Vec<NeededImage> = Vec::new();
    let mut seen_images: HashSet<(String, String)> = HashSet::new();
    let mut reachable = Vec::new();
    let mut newly = Vec::new();
    mark_reachable(states, &mut reachable, target, &mut newly);
    let mut parse_from = 0;
    loop {
        // Parse references of states not parsed yet (all of them the first time, then the
        // ones ONBUILD triggers created), in order.
        for d in parse_from..states.states.len() {
            let st = &mut states.states[d];
            if st.base.is_some() {
                continue;
            }
            if st.base_name == "scratch" {
                st.scratch = true;
                if st.unregistered {
                    st.dispatched = true;
                }
                continue;
            }
            let line = (st.line > 0).then_some(st.line);
            let reference = ImageRef::parse(&st.base_name).map_err(|e| {
                err(
                    format!(
                        "failed to parse stage name {}: {e}",
                        go_quote(&st.base_name)
                    ),
                    line,
                )
            })?;
            st.image = Some(reference);
        }
        parse_from = states.states.len();
        // Record the images of states that became reachable.
        newly.sort_unstable();
        for &d in &newly {
            let st = &mut states.states[d];
            if st.base.is_some() || st.resolved {
                continue;
            }
            st.resolved = true;
            if st.unregistered {
                st.dispatched = true;
            }
            let Some(reference) = st.image.clone() else {
                continue;
            };
            let platform = st
                .platform
                .clone()
                .unwrap_or_else(|| ctx.target_platform.clone());
            if seen_images.insert((reference.to_string(), platform.to_string())) {
                images.push(NeededImage {
                    reference,
                    platform,
                    origin: st.cause.origin,
                    line: st.cause.line,
                });
            }
        }
        // ONBUILD triggers of the bases of newly reachable stages.
        let pending = std::mem::take(&mut newly);
        let mut new_deps = false;
        for d in pending {
            if states.states[d].onbuild_init {
                continue;
            }
            states.states[d].onbuild_init = true;
            // The triggers of a local base stage, or those of a base image whose config is
            // known (they run in the stage FROM that image, at its FROM line).
            let triggers: Vec<(String, usize)> = match states.states[d].base {
                Some(base) => states.states[base]
                    .commands
                    .iter()
                    .filter_map(|c| match &c.command.kind {
                        Kind::Onbuild(expr) => Some((expr.clone(), c.command.line)),
                        _ => None,
                    })
                    .collect(),
                None => {
                    let st = &states.states[d];
                    let config = st.image.as_ref().and_then(|r| ctx.options.images.get(r));
                    config.map_or_else(Vec::new, |config| {
                        config
                            .onbuild
                            .iter()
                            .map(|trigger| (trigger.clone(), st.line))
                            .collect()
                    })
                }
            };
            if triggers.is_empty() {
                continue;
            }
            let sources = init_onbuild_triggers(ctx, states, d, &triggers)?;
            new_deps |= !sources.is_empty();
            for src in sources {
                mark_reachable(states, &mut reachable, src, &mut newly);
            }
        }
        if !new_deps {
            break;
        }
    }
    Ok(images)
}

fn init_onbuild_triggers(
    ctx: &mut Ctx<'_>,
    states: &mut States,
    d: usize,
    triggers: &[(String, usize)],
) -> Result<Vec<usize>, Error> {
    let location = Some(states.states[d].line);
    let mut all_sources = Vec::new();
    let mut commands = Vec::with_capacity(triggers.len());
    for (trigger, trigger_line) in triggers {
        let parsed = parser::parse(trigger).map_err(|e| err(e.message, location))?;
        if parsed.nodes.len() != 1 {
            return Err(err(
                "onbuild trigger should be a single expression",
                location,
            ));
        }
        let mut node = parsed.nodes[0].clone();
        node.start_line = states.states[d].line;
        node.end_line = states.states[d].line;
        let mut scratch_lint = Linter::new(LintConfig::default());
        let command = match instructions::parse_instruction(&node, &mut scratch_lint) {
            Ok(instructions::Instruction::Command(c)) => c,
            Ok(instructions::Instruction::Stage(_)) => {
                return Err(err("*instructions.Stage is not a command type", location))
            }
            Err(e) => return Err(err(e, location)),
        };
        let sources = command_sources(ctx, states, &command, Some(*trigger_line))?;
        for &src in &sources {
            states.add_dep(d, src);
        }
        all_sources.extend(sources.iter().copied());
        commands.push(Cmd { command, sources });
    }
    let st = &mut states.states[d];
    commands.append(&mut st.commands);
    st.commands = commands;
    Ok(all_sources)
}

/// A `--mount` value after expansion.
#[derive(Debug, Default)]
struct Mount {
    typ: String,
    from: String,
    source: String,
    target: String,
    /// How `source` was expanded (which variables it used).
    source_expansion: shell::Expansion,
}

fn parse_mount(
    value: &str,
    expand: &mut dyn FnMut(&str) -> Result<shell::Expansion, Error>,
) -> Result<Mount, Error> {
    let fields =
        csv_fields(value).map_err(|e| err(format!("failed to parse csv mounts: {e}"), None))?;
    let mut m = Mount {
        typ: "bind".into(),
        ..Mount::default()
    };
    let mut sharing = String::new();
    let mut id = String::new();
    let (mut mode, mut uid, mut gid) = (false, false, false);
    let plain = |s: String| err(s, None);
    let file_types = |t: &str| t == "secret" || t == "ssh";
    for field in fields {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), v.to_string()),
            None => {
                let key = field.to_lowercase();
                match key.as_str() {
                    "readonly" | "ro" | "readwrite" | "rw" => continue,
                    "required" if file_types(&m.typ) => continue,
                    "required" => {
                        return Err(plain(format!(
                            "unexpected key '{key}' for mount type '{}'",
                            m.typ
                        )))
                    }
                    _ => {
                        return Err(plain(format!(
                            "invalid field '{field}' must be a key=value pair"
                        )))
                    }
                }
            }
        };
        let expansion = expand(&value)?;
        let value = expansion.value.clone();
        let bad_value = |key: &str, value: &str| plain(format!("invalid value for {key}: {value}"));
        match key.as_str() {
            "type" => {
                let t = value.to_lowercase();
                const TYPES: [&str; 5] = ["bind", "cache", "tmpfs", "secret", "ssh"];
                if !TYPES.contains(&t.as_str()) {
                    return Err(plain(with_suggestion(
                        format!("unsupported mount type {}", go_quote(&value)),
                        &value,
                        TYPES,
                        true,
                    )));
                }
                m.typ = t;
            }
            "from" => m.from = value,
            "source" | "src" => {
                m.source = value;
                m.source_expansion = expansion;
            }
            "target" | "dst" | "destination" => m.target = value,
            "readonly" | "ro" | "readwrite" | "rw" => {
                if parse_go_bool(&value).is_none() {
                    return Err(bad_value(&key, &value));
                }
            }
            "required" => {
                if !file_types(&m.typ) {
                    return Err(plain(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.typ
                    )));
                }
                if parse_go_bool(&value).is_none() {
                    return Err(bad_value(&key, &value));
                }
            }
            "size" => {
                if m.typ != "tmpfs" {
                    return Err(plain(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.typ
                    )));
                }
                if !ram_in_bytes_ok(&value) {
                    return Err(bad_value(&key, &value));
                }
            }
            "id" => id = value,
            "sharing" => {
                let s = value.to_lowercase();
                const MODES: [&str; 3] = ["shared", "private", "locked"];
                if !MODES.contains(&s.as_str()) {
                    return Err(plain(with_suggestion(
                        format!("unsupported sharing value {}", go_quote(&value)),
                        &value,
                        MODES,
                        true,
                    )));
                }
                sharing = s;
            }
            "mode" => {
                if u32::from_str_radix(&value, 8).is_err() || value.starts_with('+') {
                    return Err(plain(format!("invalid value {value} for mode")));
                }
                mode = true;
            }
            "uid" | "gid" => {
                if value.starts_with('+') || value.parse::<u32>().is_err() {
                    return Err(plain(format!("invalid value {value} for {key}")));
                }
                if key == "uid" {
                    uid = true;
                } else {
                    gid = true;
                }
            }
            "env" => {}
            _ => {
                const KEYS: [&str; 19] = [
                    "type",
                    "from",
                    "source",
                    "target",
                    "readonly",
                    "id",
                    "sharing",
                    "required",
                    "size",
                    "mode",
                    "uid",
                    "gid",
                    "src",
                    "dst",
                    "destination",
                    "ro",
                    "rw",
                    "readwrite",
                    "env",
                ];
                return Err(plain(with_suggestion(
                    format!("unexpected key '{key}' in '{field}'"),
                    &key,
                    KEYS,
                    true,
                )));
            }
        }
    }
    let file_info_allowed = matches!(m.typ.as_str(), "secret" | "ssh" | "cache");
    if !file_info_allowed {
        for (set, what) in [(mode, "mode"), (uid, "uid"), (gid, "gid")] {
            if set {
                return Err(plain(format!(
                    "{what} not allowed for {} type mounts",
                    go_quote(&m.typ)
                )));
            }
        }
    }
    if m.typ == "secret" {
        if !m.from.is_empty() {
            return Err(plain("secret mount should not have a from".into()));
        }
        if !sharing.is_empty() {
            return Err(plain("secret mount should not define sharing".into()));
        }
        if m.source.is_empty() && m.target.is_empty() && id.is_empty() {
            return Err(plain(
                "invalid secret mount. one of source, target required".into(),
            ));
        }
        if !m.source.is_empty() && !id.is_empty() {
            return Err(plain("both source and id can't be set".into()));
        }
    }
    if !sharing.is_empty() && m.typ != "cache" {
        return Err(plain(format!(
            "invalid cache sharing set for {} mount",
            m.typ
        )));
    }
    Ok(m)
}

/// Whether docker's `units.RAMInBytes` accepts `s`.
fn ram_in_bytes_ok(s: &str) -> bool {
    let s = s.trim();
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(num_len);
    if num.is_empty() || num.parse::<f64>().is_err() {
        return false;
    }
    let unit = unit.trim_start().to_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    matches!(unit, "" | "k" | "m" | "g" | "t" | "p")
}

/// Go's `path.Clean`.
pub(crate) fn clean_path(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// BuildKit's check of `--chmod`: octal up to 07777, or a symbolic mode.
fn check_chmod(chmod: &str) -> Result<(), Error> {
    if chmod.is_empty() {
        return Ok(());
    }
    let message = || {
        format!(
            "invalid chmod parameter: '{chmod}'. it should be octal string and between 0 and 07777"
        )
    };
    match u32::from_str_radix(chmod, 8) {
        Ok(mode) if mode <= 0o7777 && !chmod.starts_with('+') => Ok(()),
        Ok(_) => Err(err(message(), None)),
        Err(_) if chmod.bytes().all(|b| b.is_ascii_digit()) => Err(err(message(), None)),
        Err(_) => Ok(()),
    }
}

/// Whether `src` is dispatched before stage `d` when BuildKit dispatches in file order.
fn dispatched_before(states: &States, src: usize, d: usize) -> bool {
    states.states[src].unregistered || src < d
}

/// Dispatches the reachable stages. BuildKit goes in file order; a stage only sees what
/// its ancestors set, so we walk the tree of stages (each stage before the stages built on
/// it), keep warnings in file order and report the error of the earliest failing stage.
fn dispatch_stages(ctx: &mut Ctx<'_>, states: &mut States, target: usize) -> Result<(), Error> {
    let reachable = reachable_from(states, target);
    let n = states.states.len();
    let todo =
        |d: usize| reachable.get(d).copied().unwrap_or(false) && !states.states[d].dispatched;
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for d in 0..n {
        if !todo(d) {
            continue;
        }
        match states.states[d].base {
            Some(b) => children[b].push(d),
            None => roots.push(d),
        }
    }
    let mut scope = Scope::default();
    let mut buckets: Vec<(usize, Vec<crate::Warning>)> = Vec::new();
    let mut first_error: Option<(usize, Error)> = None;
    enum Step {
        Enter(usize),
        Leave(usize),
    }
    let mut stack: Vec<Step> = roots.iter().rev().map(|&r| Step::Enter(r)).collect();
    let mut marks = vec![0usize; n];
    while let Some(step) = stack.pop() {
        let d = match step {
            Step::Leave(d) => {
                scope.reset(marks[d]);
                continue;
            }
            Step::Enter(d) => d,
        };
        marks[d] = scope.mark();
        if let Some(base) = states.states[d].base {
            let (workdir, workdir_set, has_shell, env_image) = {
                let b = &states.states[base];
                (
                    b.workdir.clone(),
                    b.workdir_set,
                    b.has_shell,
                    b.env_image.clone(),
                )
            };
            let st = &mut states.states[d];
            st.workdir = workdir;
            st.workdir_set = workdir_set;
            st.has_shell = has_shell;
            st.env_image = env_image;
        } else {
            init_image_env(ctx, &mut states.states[d], &mut scope);
        }
        states.states[d].dispatched = true;
        let start = ctx.lint.warnings.len();
        let commands = std::mem::take(&mut states.states[d].commands);
        let (mut cmd_seen, mut entrypoint_seen, mut health_seen) = (None, None, None);
        let mut failed = None;
        for cmd in &commands {
            let mut added = VarList::default();
            let result = dispatch_command(
                ctx,
                states,
                d,
                cmd,
                [&mut cmd_seen, &mut entrypoint_seen, &mut health_seen],
                &scope,
                &mut added,
            );
            for (k, v) in &added.entries {
                scope.push(k, v);
            }
            if let Err(mut e) = result {
                if e.line.is_none() {
                    e.line = Some(cmd.command.line).filter(|&l| l > 0);
                }
                failed = Some(e);
                break;
            }
        }
        states.states[d].commands = commands;
        buckets.push((d, ctx.lint.warnings.drain(start..).collect()));
        if let Some(e) = failed {
            if first_error.as_ref().is_none_or(|(i, _)| d < *i) {
                first_error = Some((d, e));
            }
            stack.push(Step::Leave(d));
            continue;
        }
        stack.push(Step::Leave(d));
        for &c in children[d].iter().rev() {
            stack.push(Step::Enter(c));
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    buckets.sort_by_key(|(d, _)| *d);
    for (_, warnings) in buckets {
        ctx.lint.warnings.extend(warnings);
    }
    Ok(())
}

/// The environment a stage built on an image (or `scratch`) starts with: the image's `ENV`
/// when its config is known, and BuildKit's default `PATH` when that has none. An unknown
/// image is recorded: its `ENV` and `ONBUILD` triggers could change what the stage reads.
fn init_image_env(ctx: &mut Ctx<'_>, state: &mut State, scope: &mut Scope) {
    let Some(image) = state.image.clone() else {
        scope.push("PATH", DEFAULT_PATH);
        return;
    };
    match ctx.options.images.get(&image) {
        Some(config) => {
            for entry in &config.env {
                let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
                scope.push(key, value);
            }
            if scope.depth("PATH") == 0 {
                scope.push("PATH", DEFAULT_PATH);
            }
        }
        None => {
            scope.push("PATH", DEFAULT_PATH);
            ctx.context.undecided(Undecided {
                line: state.line,
                image: image.clone(),
                reason: UndecidedReason::ImageOnbuild,
            });
            state.env_image = Some(image);
        }
    }
}

/// The variables of an expansion that the `ENV` of `image` (unknown) could set: those the
/// Dockerfile leaves unset, and `PATH` while it is only BuildKit's default.
fn image_dependent(
    expansion: &shell::Expansion,
    env: &dyn Env,
    path_depth: usize,
    image: Option<&ImageRef>,
) -> Vec<String> {
    if image.is_none() {
        return Vec::new();
    }
    let mut names: Vec<String> = expansion
        .unmatched
        .iter()
        .filter(|name| env.get(name).is_none())
        .cloned()
        .collect();
    if expansion.matched.contains("PATH") && path_depth <= 1 {
        names.push("PATH".to_owned());
    }
    names
}

/// Dispatches one command with the stage's environment as it was before the command;
/// the variables the command sets go to `added`.
fn dispatch_command(
    ctx: &mut Ctx<'_>,
    states: &mut States,
    d: usize,
    cmd: &Cmd,
    trackers: [&mut Option<usize>; 3],
    env: &Scope,
    added: &mut VarList,
) -> Result<(), Error> {
    let c = &cmd.command;
    let line = c.line;
    let escape = ctx.escape;
    let expand = |word: &str| -> Result<String, Error> {
        shell::process_word(word, env, escape)
            .map(|e| e.value)
            .map_err(|e| err(e.to_string(), Some(line)))
    };
    let comments = c.comments.clone();
    let [cmd_seen, entrypoint_seen, health_seen] = trackers;
    let used_once = |ctx: &mut Ctx<'_>, slot: &mut Option<usize>| {
        if let Some(prev) = *slot {
            ctx.lint.run(
                "MultipleInstructionsDisallowed",
                prev,
                format!(
                    "Multiple {} instructions should not be used in the same stage because only the last one will be used",
                    c.name
                ),
                &comments,
            );
        }
        *slot = Some(line);
    };
    match &c.kind {
        Kind::Env(pairs) => {
            let mut expanded = Vec::with_capacity(pairs.len());
            for kv in pairs {
                expanded.push((expand(&kv.key)?, expand(&kv.value)?, kv.no_delim));
            }
            for (key, value, no_delim) in expanded {
                if no_delim {
                    ctx.lint.run(
                        "LegacyKeyValueFormat",
                        line,
                        format!(
                            "\"{0} key=value\" should be used instead of legacy \"{0} key value\" format",
                            c.name
                        ),
                        &comments,
                    );
                }
                if looks_secret(&key) {
                    ctx.lint.run(
                        "SecretsUsedInArgOrEnv",
                        line,
                        format!(
                            "Do not use ARG or ENV instructions for sensitive data (ENV {})",
                            go_quote(&key)
                        ),
                        &comments,
                    );
                }
                added.set(&key, &value);
            }
        }
        Kind::Label(pairs) => {
            for kv in pairs {
                expand(&kv.key)?;
                expand(&kv.value)?;
            }
            for kv in pairs {
                if kv.no_delim {
                    ctx.lint.run(
                        "LegacyKeyValueFormat",
                        line,
                        format!(
                            "\"{0} key=value\" should be used instead of legacy \"{0} key value\" format",
                            c.name
                        ),
                        &comments,
                    );
                }
            }
        }
        Kind::Copy {
            flags,
            paths,
            contents,
            ..
        }
        | Kind::Add {
            flags,
            paths,
            contents,
        } => {
            let mut expanded_paths = Vec::with_capacity(paths.len());
            let mut expanded_flags = Vec::with_capacity(flags.len());
            for word in flags {
                expanded_flags.push(expand(word)?);
            }
            let env_image = states.states[d].env_image.clone();
            let mut image_vars = Vec::with_capacity(paths.len());
            for word in paths {
                let expansion = shell::process_word(word, env, escape)
                    .map_err(|e| err(e.to_string(), Some(line)))?;
                image_vars.push(image_dependent(
                    &expansion,
                    env,
                    env.depth("PATH"),
                    env_image.as_ref(),
                ));
                expanded_paths.push(expansion.value);
            }
            for content in contents.iter().filter(|c| c.expand) {
                let options = LexOptions {
                    skip_process_quotes: true,
                    ..LexOptions::default()
                };
                shell::process_word_with(&content.data, env, '\\', options)
                    .map_err(|e| err(e.to_string(), Some(line)))?;
            }
            if let (Kind::Copy { from, .. }, Some(&src)) = (&c.kind, cmd.sources.first()) {
                if !dispatched_before(states, src, d) {
                    return Err(err(
                        format!(
                            "cannot copy from stage {}, it needs to be defined before current stage {}",
                            go_quote(from),
                            go_quote(&states.states[d].stage_name)
                        ),
                        Some(line),
                    ));
                }
            }
            check_chmod(&expanded_flags[1])?;
            let is_copy = matches!(c.kind, Kind::Copy { .. });
            let sources = &expanded_paths[..expanded_paths.len().saturating_sub(1)];
            if is_copy
                && sources
                    .iter()
                    .any(|p| p.starts_with("http://") || p.starts_with("https://"))
            {
                return Err(err("source can't be a URL for COPY", Some(line)));
            }
            let from_context = match &c.kind {
                Kind::Copy { from, .. } => from.is_empty(),
                _ => true,
            };
            if from_context {
                let kind = if is_copy { Source::Copy } else { Source::Add };
                for (source, variables) in sources.iter().zip(image_vars) {
                    ctx.context.source(kind, source);
                    if let (Some(image), false) = (&env_image, variables.is_empty()) {
                        ctx.context.undecided(Undecided {
                            line,
                            image: image.clone(),
                            reason: UndecidedReason::ImageEnv { variables },
                        });
                    }
                }
            }
        }
        Kind::Workdir(path) => {
            let path = expand(path)?;
            let st = &mut states.states[d];
            if !st.workdir_set && !path.starts_with('/') {
                ctx.lint.run(
                    "WorkdirRelativePath",
                    line,
                    format!(
                        "Relative workdir {} can have unexpected results if the base image changes",
                        go_quote(&path)
                    ),
                    &comments,
                );
            }
            st.workdir_set = true;
            let current = st.workdir.clone().unwrap_or_else(|| "/".into());
            st.workdir = Some(if path.starts_with('/') {
                clean_path(&path)
            } else {
                clean_path(&format!("{current}/{path}"))
            });
        }
        Kind::Run { mounts, .. } => {
            let mut expand_mut = |w: &str| {
                shell::process_word(w, env, escape).map_err(|e| err(e.to_string(), Some(line)))
            };
            let parsed = mounts
                .iter()
                .map(|m| parse_mount(m, &mut expand_mut))
                .collect::<Result<Vec<_>, _>>()?;
            for (i, mount) in parsed.iter().enumerate() {
                let mut from = mount.from.clone();
                if from.is_empty() && mount.typ == "cache" {
                    from = "scratch".into();
                }
                if !from.is_empty() {
                    if let Some(&src) = cmd.sources.get(i) {
                        if !dispatched_before(states, src, d) {
                            return Err(err(
                                format!(
                                    "cannot mount from stage {} to {}, stage needs to be defined before current command",
                                    go_quote(&from),
                                    go_quote(&mount.target)
                                ),
                                Some(line),
                            ));
                        }
                    }
                }
                if mount.typ == "secret" || mount.typ == "ssh" {
                    continue;
                }
                let cleaned = clean_path(&mount.target);
                let target = if cleaned.starts_with('/') {
                    mount.target.clone()
                } else {
                    let dir = states.states[d]
                        .workdir
                        .clone()
                        .unwrap_or_else(|| "/".into());
                    clean_path(&format!("/{dir}/{}", mount.target))
                };
                if target == "/" {
                    return Err(err(
                        format!("invalid mount target {}", go_quote(&target)),
                        Some(line),
                    ));
                }
                if from.is_empty() {
                    let kind = if mount.typ == "tmpfs" {
                        Source::TmpfsMount
                    } else {
                        Source::BindMount
                    };
                    ctx.context.source(kind, &mount.source);
                    let env_image = states.states[d].env_image.clone();
                    let variables = image_dependent(
                        &mount.source_expansion,
                        env,
                        env.depth("PATH"),
                        env_image.as_ref(),
                    );
                    if let (Some(image), false) = (env_image, variables.is_empty()) {
                        ctx.context.undecided(Undecided {
                            line,
                            image,
                            reason: UndecidedReason::ImageEnv { variables },
                        });
                    }
                }
            }
        }
        Kind::Expose(ports) => {
            for port in ports {
                shell::process_words(port, env, escape)
                    .map_err(|e| err(e.to_string(), Some(line)))?;
            }
        }
        Kind::Words(words) => {
            for w in words {
                expand(w)?;
            }
        }
        Kind::Arg(pairs) => {
            for (key, value) in pairs {
                if looks_secret(key) {
                    ctx.lint.run(
                        "SecretsUsedInArgOrEnv",
                        line,
                        format!(
                            "Do not use ARG or ENV instructions for sensitive data (ARG {})",
                            go_quote(key)
                        ),
                        &comments,
                    );
                }
                let build_value = ctx.options.build_args.get(key);
                let value = match (build_value, value) {
                    (Some(v), _) => Some(v.clone()),
                    (None, Some(default)) => {
                        let layered = Layered {
                            top: added,
                            rest: env,
                        };
                        Some(
                            shell::process_word(default, &layered, escape)
                                .map_err(|e| err(e.to_string(), Some(line)))?
                                .value,
                        )
                    }
                    (None, None) => ctx.global.get(key).map(str::to_string),
                };
                if let Some(v) = value {
                    if key != "BUILDKIT_SBOM_SCAN_CONTEXT" && key != "BUILDKIT_SBOM_SCAN_STAGE" {
                        added.set(key, &v);
                    }
                }
            }
        }
        Kind::Cmd { shell_form } | Kind::Entrypoint { shell_form } => {
            let slot = if matches!(c.kind, Kind::Cmd { .. }) {
                cmd_seen
            } else {
                entrypoint_seen
            };
            used_once(ctx, slot);
            if *shell_form && !states.states[d].has_shell {
                ctx.lint.run(
                    "JSONArgsRecommended",
                    line,
                    format!(
                        "JSON arguments recommended for {} to prevent unintended behavior related to OS signals",
                        c.name
                    ),
                    &comments,
                );
            }
        }
        Kind::Healthcheck => used_once(ctx, health_seen),
        Kind::Other => {
            if c.name.eq_ignore_ascii_case("shell") {
                states.states[d].has_shell = true;
            }
        }
        Kind::Onbuild(_) => {}
    }
    Ok(())
}

/// Variables set by the current command over the stage's environment.
struct Layered<'a> {
    top: &'a VarList,
    rest: &'a Scope,
}

impl Env for Layered<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.top.get(name).or_else(|| self.rest.get(name))
    }
}

fn validate_stage_names(stages: &[StageDef], lint: &mut Linter) {
    let mut seen: HashSet<&str> = HashSet::new();
    for st in stages {
        if st.name.is_empty() {
            continue;
        }
        if st.name == "context" || st.name == "scratch" {
            lint.run(
                "ReservedStageName",
                st.line,
                format!(
                    "Stage name should not use the same name as reserved stage {}",
                    go_quote(&st.name)
                ),
                &st.comments,
            );
        }
        if !seen.insert(&st.name) {
            lint.run(
                "DuplicateStageName",
                st.line,
                format!(
                    "Duplicate stage name {}, stage names should be unique",
                    go_quote(&st.name)
                ),
                &st.comments,
            );
        }
    }
}

fn validate_command_casing(stages: &[StageDef], lint: &mut Linter) {
    let consistent = |s: &str| s == s.to_lowercase() || s == s.to_uppercase();
    let (mut lower, mut upper) = (0usize, 0usize);
    let mut count = |s: &str| {
        if consistent(s) {
            if s == s.to_lowercase() {
                lower += 1;
            } else {
                upper += 1;
            }
        }
    };
    for st in stages {
        count(&st.orig_cmd);
        for c in &st.commands {
            count(&c.name);
        }
    }
    let majority_lower = lower > upper;
    let mut check = |name: &str, line: usize, comments: &[String]| {
        let correct = if majority_lower && name.to_lowercase() != name {
            "lowercase"
        } else if !majority_lower && name.to_uppercase() != name {
            "uppercase"
        } else {
            return;
        };
        lint.run(
            "ConsistentInstructionCasing",
            line,
            format!("Command '{name}' should match the case of the command majority ({correct})"),
            comments,
        );
    };
    for st in stages {
        check(&st.orig_cmd, st.line, &st.comments);
        for c in &st.commands {
            check(&c.name, c.line, &c.comments);
        }
    }
}
