//! Typed instructions: each parsed line checked the way BuildKit's `instructions` package
//! checks it (argument counts, flags, mounts, stage names), grouped into stages.

use crate::lint::Linter;
use crate::parser::{parse_heredoc, Node};
use crate::text::{go_quote, parse_go_bool, with_suggestion};

const ALL_INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// An `ENV`/`LABEL` pair.
#[derive(Debug, Clone)]
pub(crate) struct KeyValue {
    pub key: String,
    pub value: String,
    pub no_delim: bool,
}

/// An inline file of COPY/ADD.
#[derive(Debug, Clone)]
pub(crate) struct SourceContent {
    pub data: String,
    pub expand: bool,
}

/// What an instruction does, as far as the analysis cares.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Arg(Vec<(String, Option<String>)>),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Copy {
        from: String,
        flags: Vec<String>,
        paths: Vec<String>,
        contents: Vec<SourceContent>,
    },
    Add {
        flags: Vec<String>,
        paths: Vec<String>,
        contents: Vec<SourceContent>,
    },
    Run {
        /// Raw `--mount` values.
        mounts: Vec<String>,
        /// The `from=` of each mount as written (empty when absent).
        mount_froms: Vec<String>,
    },
    Onbuild(String),
    Cmd {
        shell_form: bool,
    },
    Entrypoint {
        shell_form: bool,
    },
    Healthcheck,
    /// EXPOSE ports (expanded and split into words when dispatched).
    Expose(Vec<String>),
    Words(Vec<String>),
    Workdir(String),
    Other,
}

/// One instruction inside a stage.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    /// The keyword as written.
    pub name: String,
    pub line: usize,
    /// The instruction's last line (continuations and heredocs included).
    pub end_line: usize,
    pub comments: Vec<String>,
    pub kind: Kind,
}

/// A stage: its FROM and the instructions after it.
#[derive(Debug, Clone)]
pub(crate) struct StageDef {
    /// Lower-cased name, empty when unnamed.
    pub name: String,
    pub base_name: String,
    pub platform: String,
    pub orig_cmd: String,
    pub line: usize,
    /// The `FROM` instruction's last line.
    pub end_line: usize,
    pub comments: Vec<String>,
    pub commands: Vec<Command>,
}

/// A parsed instruction.
#[derive(Debug, Clone)]
pub(crate) enum Instruction {
    Stage(StageDef),
    Command(Command),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FlagType {
    Bool,
    Str,
    Strings,
}

/// Parsed `--flags` with the values they were given.
struct Flags {
    specs: Vec<(&'static str, FlagType)>,
    values: Vec<Option<FlagValue>>,
}

#[derive(Clone)]
enum FlagValue {
    One(String),
    Many(Vec<String>),
}

impl Flags {
    /// BuildKit's `BFlags.Parse`.
    fn parse(words: &[String], specs: &[(&'static str, FlagType)]) -> Result<Flags, String> {
        let mut flags = Flags {
            specs: specs.to_vec(),
            values: vec![None; specs.len()],
        };
        for word in words {
            if word == "--" {
                break;
            }
            if !word.starts_with("--") {
                return Err(format!("arg should start with -- : {word}"));
            }
            let (flag_name, value) = match word.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (word.as_str(), None),
            };
            let arg = &flag_name[2..];
            let Some(idx) = specs.iter().position(|(n, _)| *n == arg) else {
                return Err(with_suggestion(
                    format!("unknown flag: {flag_name}"),
                    arg,
                    specs.iter().map(|(n, _)| *n),
                    true,
                ));
            };
            let typ = specs[idx].1;
            if flags.values[idx].is_some() && typ != FlagType::Strings {
                return Err(format!("duplicate flag specified: {flag_name}"));
            }
            match typ {
                FlagType::Bool => {
                    if value == Some("") {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    }
                    let v = value.unwrap_or("");
                    let b = match v.to_lowercase().as_str() {
                        "true" | "" => "true",
                        "false" => "false",
                        _ => {
                            return Err(format!(
                                "expecting boolean value for flag {flag_name}, not: {v}"
                            ))
                        }
                    };
                    flags.values[idx] = Some(FlagValue::One(b.into()));
                }
                FlagType::Str => {
                    let Some(v) = value else {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    };
                    flags.values[idx] = Some(FlagValue::One(v.into()));
                }
                FlagType::Strings => {
                    let Some(v) = value else {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    };
                    match &mut flags.values[idx] {
                        Some(FlagValue::Many(all)) => all.push(v.into()),
                        slot => *slot = Some(FlagValue::Many(vec![v.into()])),
                    }
                }
            }
        }
        Ok(flags)
    }

    fn string(&self, name: &str) -> String {
        match self.get(name) {
            Some(FlagValue::One(v)) => v.clone(),
            _ => String::new(),
        }
    }

    fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(FlagValue::Many(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    fn get(&self, name: &str) -> Option<&FlagValue> {
        let idx = self.specs.iter().position(|(n, _)| *n == name)?;
        self.values[idx].as_ref()
    }
}

use FlagType::{Bool, Str, Strings};

const COPY_FLAGS: &[(&str, FlagType)] = &[
    ("chown", Str),
    ("from", Str),
    ("chmod", Str),
    ("link", Bool),
    ("exclude", Strings),
    ("parents", Bool),
];
const ADD_FLAGS: &[(&str, FlagType)] = &[
    ("chown", Str),
    ("chmod", Str),
    ("link", Bool),
    ("keep-git-dir", Bool),
    ("checksum", Str),
    ("unpack", Bool),
    ("exclude", Strings),
];
const RUN_FLAGS: &[(&str, FlagType)] = &[
    ("device", Strings),
    ("mount", Strings),
    ("network", Str),
    ("security", Str),
];
const HEALTHCHECK_FLAGS: &[(&str, FlagType)] = &[
    ("interval", Str),
    ("timeout", Str),
    ("start-period", Str),
    ("start-interval", Str),
    ("retries", Str),
];

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}

fn exactly_one(cmd: &str) -> String {
    format!("{cmd} requires exactly one argument")
}

fn kvps(args: &[String], cmd: &str) -> Result<Vec<KeyValue>, String> {
    if args.is_empty() {
        return Err(at_least_one(cmd));
    }
    if args.len() % 3 != 0 {
        return Err(format!("Bad input to {cmd}, too many arguments"));
    }
    args.chunks(3)
        .map(|c| {
            if c[0].is_empty() {
                return Err(format!("{cmd} names can not be blank"));
            }
            Ok(KeyValue {
                key: c[0].clone(),
                value: c[1].clone(),
                no_delim: c[2].is_empty(),
            })
        })
        .collect()
}

/// Sources and destination of COPY/ADD: plain paths and inline (heredoc) files.
fn sources_and_dest(node: &Node, cmd: &str) -> Result<(Vec<String>, Vec<SourceContent>), String> {
    let (dest, srcs) = node.args.split_last().ok_or_else(|| at_least_one(cmd))?;
    if matches!(parse_heredoc(dest), Ok(Some(_))) {
        return Err(format!("{cmd} cannot accept a heredoc as a destination"));
    }
    let mut paths = Vec::new();
    let mut contents = Vec::new();
    for src in srcs {
        match parse_heredoc(src) {
            Ok(Some(doc)) => {
                let data = node
                    .heredocs
                    .iter()
                    .rev()
                    .find(|h| h.name == doc.name)
                    .map(|h| h.content.clone())
                    .unwrap_or_default();
                let data = if doc.chomp {
                    chomp_heredoc(&data)
                } else {
                    data
                };
                contents.push(SourceContent {
                    data,
                    expand: doc.expand,
                });
            }
            _ => paths.push(src.clone()),
        }
    }
    paths.push(dest.clone());
    Ok((paths, contents))
}

/// Strips leading tabs from every line (`<<-`).
pub(crate) fn chomp_heredoc(data: &str) -> String {
    data.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// Fields of a CSV value as `tonistiigi/go-csvvalue` splits them.
pub(crate) fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let line = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line);
    if line.is_empty() {
        return Err("EOF".into());
    }
    let err = |pos: usize, what: &str| format!("parse error on line 1, column {}: {what}", pos + 1);
    let bare = "bare \" in non-quoted field";
    let quote = "extraneous or missing \" in quoted-field";
    let mut fields: Vec<String> = Vec::new();
    let mut rest = line;
    let mut pos = 0;
    'field: loop {
        if !rest.starts_with('"') {
            let (field, next) = match rest.find(',') {
                Some(i) => (&rest[..i], Some(i)),
                None => (rest, None),
            };
            if let Some(j) = field.find('"') {
                return Err(err(pos + j, bare));
            }
            fields.push(field.to_string());
            match next {
                Some(i) => {
                    rest = &rest[i + 1..];
                    pos += i + 1;
                    continue;
                }
                None => break,
            }
        }
        rest = &rest[1..];
        pos += 1;
        let mut half_open = false;
        loop {
            let Some(i) = rest.find('"') else {
                return Err(err(pos, quote));
            };
            if half_open {
                if let Some(last) = fields.last_mut() {
                    last.push_str(&rest[..i]);
                }
            } else {
                fields.push(rest[..i].to_string());
            }
            rest = &rest[i + 1..];
            pos += i + 1;
            match rest.chars().next() {
                Some('"') => {
                    if let Some(last) = fields.last_mut() {
                        last.push('"');
                    }
                    rest = &rest[1..];
                    pos += 1;
                    half_open = true;
                }
                Some(',') => {
                    rest = &rest[1..];
                    pos += 1;
                    continue 'field;
                }
                None => break 'field,
                Some(_) => return Err(err(pos - 1, quote)),
            }
        }
    }
    Ok(fields)
}

fn parse_device(value: &str) -> Result<(), String> {
    let fields = csv_fields(value).map_err(|e| format!("failed to parse csv devices: {e}"))?;
    let mut name = String::new();
    for field in fields {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v)),
            None => (field.to_lowercase(), None),
        };
        match val {
            None => {
                if key == "required" {
                    continue;
                }
                if name.is_empty() {
                    name = field.clone();
                    continue;
                }
                return Err(format!("invalid field '{field}' must be a key=value pair"));
            }
            Some(val) => match key.as_str() {
                "name" => {
                    if !name.is_empty() {
                        return Err(format!("device name already set to {name}"));
                    }
                    name = val.to_string();
                }
                "required" => {
                    if parse_go_bool(val).is_none() {
                        return Err(format!("invalid value for {key}: {val}"));
                    }
                }
                _ => {
                    if name.is_empty() {
                        name = field.clone();
                        continue;
                    }
                    return Err(with_suggestion(
                        format!("unexpected key '{key}' in '{field}'"),
                        &key,
                        ["name", "required"],
                        true,
                    ));
                }
            },
        }
    }
    Ok(())
}

/// The `from=` of a mount as the parser sees it (no expansion yet).
fn mount_from_unexpanded(value: &str) -> Result<String, String> {
    let fields = csv_fields(value).map_err(|e| format!("failed to parse csv mounts: {e}"))?;
    let mut from = String::new();
    for field in fields {
        let Some((key, val)) = field.split_once('=') else {
            continue;
        };
        if key.to_lowercase() == "from" {
            if let Some(i) = val.find('$') {
                if i != val.len() - 1 {
                    return Err(
                        "'from' doesn't support variable expansion, define alias stage instead"
                            .into(),
                    );
                }
            }
            from = val.to_string();
        }
    }
    Ok(from)
}

/// Go's `time.ParseDuration`, as far as whether it accepts the text and its value in ns.
fn parse_duration(s: &str) -> Result<f64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(s));
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix(['-', '+']) {
        neg = s.starts_with('-');
        rest = r;
    }
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..n];
            rest = &r[n..];
            if int.is_empty() && frac.is_empty() {
                return Err(invalid());
            }
        } else if int.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(s)));
        }
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(s)
                ))
            }
        };
        let number: f64 = format!("{}.{}0", if int.is_empty() { "0" } else { int }, frac)
            .parse()
            .map_err(|_| invalid())?;
        total += number * scale;
        if total > 9.223_372_036_854_776e18 {
            return Err(invalid());
        }
    }
    Ok(if neg { -total } else { total })
}

fn check_interval(flags: &Flags, name: &str) -> Result<(), String> {
    let v = flags.string(name);
    if v.is_empty() {
        return Ok(());
    }
    let d = parse_duration(&v)?;
    if d != 0.0 && d < 1e6 {
        return Err(format!(
            "Interval {} cannot be less than 1ms",
            go_quote(name)
        ));
    }
    Ok(())
}

fn check_healthcheck(node: &Node) -> Result<(), String> {
    let args = &node.args;
    if args.is_empty() {
        return Err(at_least_one("HEALTHCHECK"));
    }
    let typ = args[0].to_uppercase();
    if typ == "NONE" {
        if args.len() > 1 {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(());
    }
    let flags = Flags::parse(&node.flags, HEALTHCHECK_FLAGS)?;
    if typ == "CMD" {
        if args.len() < 2 {
            return Err("Missing command after HEALTHCHECK CMD".into());
        }
    } else {
        return Err(format!(
            "Unknown type {} in HEALTHCHECK (try CMD)",
            go_quote(&typ)
        ));
    }
    for name in ["interval", "timeout", "start-period", "start-interval"] {
        check_interval(&flags, name)?;
    }
    let retries = flags.string("retries");
    if !retries.is_empty() {
        let parsed = crate::text::go_atoi(&retries).ok_or_else(|| {
            format!(
                "strconv.ParseInt: parsing {}: invalid syntax",
                go_quote(&retries)
            )
        })?;
        if parsed > i64::from(i32::MAX) || parsed < i64::from(i32::MIN) {
            return Err(format!(
                "strconv.ParseInt: parsing {}: value out of range",
                go_quote(&retries)
            ));
        }
        if parsed < 0 {
            return Err(format!("--retries cannot be negative ({parsed})"));
        }
    }
    Ok(())
}

fn is_lower_stage_name(args: &[String]) -> bool {
    args.len() != 3 || args[2] == args[2].to_lowercase()
}

fn from_case_matches_as(node: &Node) -> bool {
    if node.args.len() < 3 {
        return true;
    }
    let cmd = &node.cmd;
    let lower = *cmd == cmd.to_lowercase();
    let upper = *cmd == cmd.to_uppercase();
    if !lower && !upper {
        return true;
    }
    if lower {
        node.args[1] == node.args[1].to_lowercase()
    } else {
        node.args[1] == node.args[1].to_uppercase()
    }
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
}

/// Parses one node into an instruction, reporting parse-time lint warnings.
pub(crate) fn parse_instruction(node: &Node, lint: &mut Linter) -> Result<Instruction, String> {
    let cmd_lower = node.cmd.to_lowercase();
    let command = |kind: Kind| {
        Ok(Instruction::Command(Command {
            name: node.cmd.clone(),
            line: node.start_line,
            end_line: node.end_line.max(node.start_line),
            comments: node.comments.clone(),
            kind,
        }))
    };
    let args = &node.args;
    match cmd_lower.as_str() {
        "env" | "label" => {
            Flags::parse(&node.flags, &[])?;
            let upper = cmd_lower.to_uppercase();
            let pairs = kvps(args, &upper)?;
            if cmd_lower == "env" {
                command(Kind::Env(pairs))
            } else {
                command(Kind::Label(pairs))
            }
        }
        "maintainer" => {
            lint.run(
                "MaintainerDeprecated",
                node.start_line,
                "Maintainer instruction is deprecated in favor of using label".into(),
                &node.comments,
            );
            if args.len() != 1 {
                return Err(exactly_one("MAINTAINER"));
            }
            Flags::parse(&node.flags, &[])?;
            command(Kind::Other)
        }
        "add" | "copy" => {
            let upper = cmd_lower.to_uppercase();
            if args.len() < 2 {
                return Err(format!("{upper} requires at least two arguments, but only one was provided. Destination could not be determined"));
            }
            let is_copy = cmd_lower == "copy";
            let specs = if is_copy { COPY_FLAGS } else { ADD_FLAGS };
            let flags = Flags::parse(&node.flags, specs)?;
            let (paths, contents) = sources_and_dest(node, &upper)?;
            let mut expandable = vec![flags.string("chown"), flags.string("chmod")];
            if is_copy {
                command(Kind::Copy {
                    from: flags.string("from"),
                    flags: expandable,
                    paths,
                    contents,
                })
            } else {
                expandable.push(flags.string("checksum"));
                command(Kind::Add {
                    flags: expandable,
                    paths,
                    contents,
                })
            }
        }
        "from" => {
            if !is_lower_stage_name(args) {
                lint.run(
                    "StageNameCasing",
                    node.start_line,
                    format!("Stage name '{}' should be lowercase", args[2]),
                    &node.comments,
                );
            }
            if !from_case_matches_as(node) {
                lint.run(
                    "FromAsCasing",
                    node.start_line,
                    format!(
                        "'{}' and '{}' keywords' casing do not match",
                        args[1], node.cmd
                    ),
                    &node.comments,
                );
            }
            let name = match args.len() {
                3 if args[1].eq_ignore_ascii_case("as") => {
                    let name = args[2].to_lowercase();
                    if !valid_stage_name(&name) {
                        return Err(format!(
                            "invalid name for build stage: {}, name can't start with a number or contain symbols",
                            go_quote(&args[2])
                        ));
                    }
                    name
                }
                1 => String::new(),
                _ => return Err("FROM requires either one or three arguments".into()),
            };
            let flags = Flags::parse(&node.flags, &[("platform", Str)])?;
            Ok(Instruction::Stage(StageDef {
                name,
                base_name: args[0].clone(),
                platform: flags.string("platform"),
                orig_cmd: node.cmd.clone(),
                line: node.start_line,
                end_line: node.end_line.max(node.start_line),
                comments: node.comments.clone(),
                commands: Vec::new(),
            }))
        }
        "onbuild" => {
            if args.is_empty() {
                return Err(at_least_one("ONBUILD"));
            }
            Flags::parse(&node.flags, &[])?;
            let trigger = args[0].trim().to_uppercase();
            match trigger.as_str() {
                "ONBUILD" => {
                    return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into())
                }
                "MAINTAINER" | "FROM" => {
                    return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"))
                }
                _ => {}
            }
            let mut expression = strip_onbuild(&node.original).to_string();
            for doc in &node.heredocs {
                expression.push('\n');
                expression.push_str(&doc.content);
                expression.push_str(&doc.name);
            }
            command(Kind::Onbuild(expression))
        }
        "workdir" => {
            if args.len() != 1 {
                return Err(exactly_one("WORKDIR"));
            }
            Flags::parse(&node.flags, &[])?;
            command(Kind::Workdir(args[0].clone()))
        }
        "run" => {
            let flags = Flags::parse(&node.flags, RUN_FLAGS)?;
            for device in flags.strings("device") {
                parse_device(&device)?;
            }
            let mounts = flags.strings("mount");
            let mount_froms = mounts
                .iter()
                .map(|m| mount_from_unexpanded(m))
                .collect::<Result<Vec<_>, _>>()?;
            let network = flags
                .get("network")
                .map_or("default".into(), |_| flags.string("network"));
            if !matches!(network.as_str(), "default" | "none" | "host") {
                return Err(format!("invalid network mode {}", go_quote(&network)));
            }
            let security = flags
                .get("security")
                .map_or("sandbox".into(), |_| flags.string("security"));
            if !matches!(security.as_str(), "insecure" | "sandbox") {
                return Err(format!("security {} is not valid", go_quote(&security)));
            }
            command(Kind::Run {
                mounts,
                mount_froms,
            })
        }
        "cmd" | "entrypoint" => {
            Flags::parse(&node.flags, &[])?;
            let shell_form = !node.json;
            if cmd_lower == "cmd" {
                command(Kind::Cmd { shell_form })
            } else {
                command(Kind::Entrypoint { shell_form })
            }
        }
        "healthcheck" => {
            check_healthcheck(node)?;
            command(Kind::Healthcheck)
        }
        "expose" => {
            if args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            Flags::parse(&node.flags, &[])?;
            command(Kind::Expose(args.clone()))
        }
        "user" => {
            if args.len() != 1 {
                return Err(exactly_one("USER"));
            }
            Flags::parse(&node.flags, &[])?;
            command(Kind::Words(args.clone()))
        }
        "volume" => {
            if args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            Flags::parse(&node.flags, &[])?;
            if args.iter().any(|v| v.trim().is_empty()) {
                return Err("VOLUME specified can not be an empty string".into());
            }
            command(Kind::Words(
                args.iter().map(|v| v.trim().to_string()).collect(),
            ))
        }
        "stopsignal" => {
            if args.len() != 1 {
                return Err(exactly_one("STOPSIGNAL"));
            }
            command(Kind::Words(args.clone()))
        }
        "arg" => {
            if args.is_empty() {
                return Err(at_least_one("ARG"));
            }
            let mut pairs = Vec::new();
            for arg in args {
                match arg.split_once('=') {
                    Some(("", _)) => return Err("ARG names can not be blank".into()),
                    Some((k, v)) => pairs.push((k.to_string(), Some(v.to_string()))),
                    None => pairs.push((arg.clone(), None)),
                }
            }
            command(Kind::Arg(pairs))
        }
        "shell" => {
            Flags::parse(&node.flags, &[])?;
            if args.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            command(Kind::Other)
        }
        _ => Err(with_suggestion(
            format!("unknown instruction: {}", node.cmd),
            &node.cmd,
            ALL_INSTRUCTIONS,
            false,
        )),
    }
}

/// `(?i)^\s*ONBUILD\s*` removed from the original line.
fn strip_onbuild(original: &str) -> &str {
    let ws = |c: char| matches!(c, '\t' | '\n' | '\u{0c}' | '\r' | ' ');
    let s = original.trim_start_matches(ws);
    match s.get(..7) {
        Some(word) if word.eq_ignore_ascii_case("onbuild") => s[7..].trim_start_matches(ws),
        _ => original,
    }
}

/// BuildKit's `instructions.Parse`: stages and the ARGs before the first FROM.
pub(crate) struct Stages {
    pub stages: Vec<StageDef>,
    pub meta_args: Vec<Command>,
}

/// Groups parsed instructions into stages; errors carry the 1-based line.
pub(crate) fn group(nodes: &[Node], lint: &mut Linter) -> Result<Stages, (String, usize)> {
    let mut stages: Vec<StageDef> = Vec::new();
    let mut meta_args = Vec::new();
    for node in nodes {
        let instruction = parse_instruction(node, lint).map_err(|e| {
            (
                format!("dockerfile parse error on line {}: {e}", node.start_line),
                node.start_line,
            )
        })?;
        match instruction {
            Instruction::Stage(stage) => stages.push(stage),
            Instruction::Command(cmd) => {
                if stages.is_empty() {
                    if let Kind::Arg(_) = cmd.kind {
                        meta_args.push(cmd);
                        continue;
                    }
                }
                match stages.last_mut() {
                    Some(stage) => stage.commands.push(cmd),
                    None => {
                        return Err(("no build stage in current context".into(), node.start_line))
                    }
                }
            }
        }
    }
    Ok(Stages { stages, meta_args })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv() {
        assert_eq!(csv_fields("a=1,b=2").unwrap(), vec!["a=1", "b=2"]);
        assert_eq!(csv_fields("\"a=1,x\",b").unwrap(), vec!["a=1,x", "b"]);
        assert_eq!(
            csv_fields("a=\"1\"").unwrap_err(),
            "parse error on line 1, column 3: bare \" in non-quoted field"
        );
        assert_eq!(csv_fields("").unwrap_err(), "EOF");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5s").unwrap(), 1.5e9);
        assert!(parse_duration("1").is_err());
        assert!(parse_duration("1x").is_err());
    }

    #[test]
    fn onbuild_expression() {
        assert_eq!(strip_onbuild("  onbuild   RUN x"), "RUN x");
    }
}
