//! The bench's workloads, generated deterministically (a fixed-seed PRNG) under
//! `target/bench/<full|quick>/`: a node_modules-like tree of many small files, the same tree
//! behind a `.dockerignore` that excludes `node_modules`, a few large files, the build
//! contexts' Dockerfiles and the pre-pull Dockerfile.
//!
//! Generating the 54k-entry tree and 2 GiB of large files takes a while, so each tree is
//! regenerated only when it is missing or its stamp (the generator version and the tree's
//! parameters, in `<tree>.stamp` next to it, written last) differs.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bump whenever the generator's output changes, so that stale trees are regenerated.
pub const GENERATOR_VERSION: u32 = 1;

/// The seed every workload is derived from.
pub const SEED: u64 = 0x6465_7662_7569_6c64; // "devbuild"

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough to make file trees;
/// the same seed gives the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high` (the modulo bias is irrelevant for making trees).
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low).max(1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// The parameters of the node_modules-like tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSpec {
    /// Entries below the root (directories, files and symlinks), exactly.
    pub entries: usize,
    /// The PRNG seed.
    pub seed: u64,
}

/// The parameters of the large-files tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargeSpec {
    /// How many files.
    pub count: usize,
    /// Each file's size in bytes.
    pub size: u64,
    /// The PRNG seed.
    pub seed: u64,
}

/// What one planned entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A regular file.
    File(Content),
    /// A symbolic link to this (relative) target.
    Symlink(String),
}

/// A file's content: given, or derived from a seed (made when the file is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// This text.
    Text(String),
    /// `len` code-like bytes from the PRNG seeded with `seed`.
    Random {
        /// The PRNG seed.
        seed: u64,
        /// The length in bytes.
        len: usize,
    },
}

impl Content {
    /// Writes the bytes into `buffer` (cleared first).
    pub fn fill(&self, buffer: &mut Vec<u8>) {
        buffer.clear();
        match self {
            Content::Text(text) => buffer.extend_from_slice(text.as_bytes()),
            Content::Random { seed, len } => random_text(*seed, *len, buffer),
        }
    }
}

/// One entry of a planned tree; parents always come before their children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEntry {
    /// The path relative to the tree's root, `/`-separated.
    pub path: String,
    /// What it is.
    pub node: Node,
}

/// 64 characters, so that one random byte picks one with a mask: source code's look.
const ALPHABET: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n";

/// Appends `len` characters of [`ALPHABET`] drawn from the PRNG seeded with `seed`.
fn random_text(seed: u64, len: usize, out: &mut Vec<u8>) {
    let mut rng = SplitMix64::new(seed);
    out.reserve(len);
    while out.len() < len {
        let bits = rng.next_u64().to_le_bytes();
        let take = (len - out.len()).min(bits.len());
        out.extend(bits[..take].iter().map(|b| ALPHABET[usize::from(b & 63)]));
    }
}

/// Syllables that make package names look like npm's.
const SYLLABLES: [&str; 24] = [
    "lo", "dash", "re", "act", "web", "pack", "ba", "bel", "es", "lint", "type", "script", "ex",
    "press", "chalk", "yar", "gs", "mini", "mist", "glob", "core", "js", "util", "parse",
];

/// Scopes of scoped packages (`@scope/name`).
const SCOPES: [&str; 6] = ["@babel", "@types", "@eslint", "@jest", "@swc", "@vue"];

/// A made-up package name, unique thanks to its index.
fn package_name(rng: &mut SplitMix64, index: usize) -> String {
    let mut name = String::new();
    for part in 0..rng.range(1, 4) {
        if part > 0 && rng.chance(40) {
            name.push('-');
        }
        name.push_str(SYLLABLES[rng.range(0, SYLLABLES.len() as u64) as usize]);
    }
    format!("{name}-{index}")
}

/// A source file's size: mostly small, a few larger ones, as in node_modules (the mean,
/// about 2.5 KiB, makes 54k entries about 136 MiB as a tar).
fn source_size(rng: &mut SplitMix64) -> usize {
    let bucket = rng.range(0, 1000);
    let size = match bucket {
        0..=649 => rng.range(40, 1_300),
        650..=929 => rng.range(1_300, 5_200),
        930..=994 => rng.range(5_000, 22_000),
        _ => rng.range(20_000, 150_000),
    };
    size as usize
}

/// Collects planned entries, deriving each random file's seed from the tree's PRNG.
struct Planner {
    rng: SplitMix64,
    entries: Vec<PlannedEntry>,
}

impl Planner {
    fn dir(&mut self, path: String) {
        self.entries.push(PlannedEntry {
            path,
            node: Node::Dir,
        });
    }

    fn text(&mut self, path: String, text: String) {
        self.entries.push(PlannedEntry {
            path,
            node: Node::File(Content::Text(text)),
        });
    }

    fn random(&mut self, path: String, len: usize) {
        let seed = self.rng.next_u64();
        self.entries.push(PlannedEntry {
            path,
            node: Node::File(Content::Random { seed, len }),
        });
    }

    fn symlink(&mut self, path: String, target: String) {
        self.entries.push(PlannedEntry {
            path,
            node: Node::Symlink(target),
        });
    }

    /// One package: manifest, readme, licence, entry point, `lib/`, maybe `dist/`,
    /// typings and a `bin/` linked from `node_modules/.bin`.
    fn package(&mut self, dir: &str, name: &str, linkable: bool) {
        self.dir(dir.to_string());
        let version = format!(
            "{}.{}.{}",
            self.rng.range(0, 9),
            self.rng.range(0, 30),
            self.rng.range(0, 20)
        );
        self.text(
            format!("{dir}/package.json"),
            format!(
                "{{\n  \"name\": \"{name}\",\n  \"version\": \"{version}\",\n  \"main\": \"index.js\",\n  \"license\": \"MIT\"\n}}\n"
            ),
        );
        let readme = source_size(&mut self.rng);
        self.random(format!("{dir}/README.md"), readme);
        self.text(format!("{dir}/LICENSE"), LICENSE.to_string());
        let index = source_size(&mut self.rng);
        self.random(format!("{dir}/index.js"), index);
        if self.rng.chance(25) {
            let typings = source_size(&mut self.rng);
            self.random(format!("{dir}/index.d.ts"), typings);
        }
        self.dir(format!("{dir}/lib"));
        for file in 0..self.rng.range(2, 14) {
            let len = source_size(&mut self.rng);
            self.random(format!("{dir}/lib/module{file}.js"), len);
        }
        if self.rng.chance(40) {
            self.dir(format!("{dir}/dist"));
            for file in 0..self.rng.range(1, 8) {
                let len = source_size(&mut self.rng);
                self.random(format!("{dir}/dist/bundle{file}.min.js"), len);
            }
        }
        if linkable && self.rng.chance(10) {
            self.dir(format!("{dir}/bin"));
            let len = source_size(&mut self.rng);
            self.random(format!("{dir}/bin/cli.js"), len);
            let relative = dir.strip_prefix("node_modules/").unwrap_or(dir);
            self.symlink(
                format!(
                    "node_modules/.bin/{}",
                    name.rsplit('/').next().unwrap_or(name)
                ),
                format!("../{relative}/bin/cli.js"),
            );
        }
    }
}

/// The text every package's `LICENSE` holds.
const LICENSE: &str = "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software, to deal in the Software without restriction.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.\n";

/// The node_modules-like tree: `package.json`, `package-lock.json`, a `src/` with a few
/// files, and a `node_modules/` of packages (some scoped, some nested, a `.bin/` of
/// symlinks), exactly `spec.entries` entries. Pure: the same spec gives the same plan.
pub fn plan_tree(spec: &TreeSpec) -> Vec<PlannedEntry> {
    let mut planner = Planner {
        rng: SplitMix64::new(spec.seed),
        entries: Vec::with_capacity(spec.entries + 64),
    };
    // The application itself, which the subset Dockerfiles copy.
    planner.dir("src".to_string());
    for file in ["index.js", "app.js", "server.js"] {
        let len = source_size(&mut planner.rng);
        planner.random(format!("src/{file}"), len);
    }
    planner.dir("src/routes".to_string());
    for file in ["api.js", "health.js"] {
        let len = source_size(&mut planner.rng);
        planner.random(format!("src/routes/{file}"), len);
    }
    planner.dir("node_modules".to_string());
    planner.dir("node_modules/.bin".to_string());
    // The two manifests are added last; keep room for them.
    let budget = spec.entries.saturating_sub(2);
    let mut packages: Vec<(String, String)> = Vec::new();
    let mut scopes_made: Vec<&str> = Vec::new();
    let mut nested_made = std::collections::HashSet::new();
    while planner.entries.len() < budget {
        let index = packages.len();
        let base = package_name(&mut planner.rng, index);
        let (dir, name, linkable) = if !packages.is_empty() && planner.rng.chance(8) {
            // A nested dependency: node_modules/<parent>/node_modules/<name>.
            let parent = packages[planner.rng.range(0, packages.len() as u64) as usize]
                .0
                .clone();
            let nested = format!("{parent}/node_modules");
            if nested_made.insert(nested.clone()) {
                planner.dir(nested.clone());
            }
            (format!("{nested}/{base}"), base.clone(), false)
        } else if planner.rng.chance(15) {
            let scope = SCOPES[planner.rng.range(0, SCOPES.len() as u64) as usize];
            if !scopes_made.contains(&scope) {
                scopes_made.push(scope);
                planner.dir(format!("node_modules/{scope}"));
            }
            let name = format!("{scope}/{base}");
            (format!("node_modules/{name}"), name, true)
        } else {
            (format!("node_modules/{base}"), base.clone(), true)
        };
        planner.package(&dir, &name, linkable);
        packages.push((dir, name));
    }
    // Parents come first, so cutting the tail keeps the tree whole (a `.bin` link may then
    // dangle, which both archivers store as it is).
    planner.entries.truncate(budget);
    let dependencies: Vec<String> = packages
        .iter()
        .filter(|(dir, _)| !dir.contains("/node_modules/"))
        .map(|(_, name)| format!("    \"{name}\": \"^1.0.0\""))
        .collect();
    planner.text(
        "package.json".to_string(),
        format!(
            "{{\n  \"name\": \"bench-app\",\n  \"version\": \"1.0.0\",\n  \"main\": \"src/index.js\",\n  \"dependencies\": {{\n{}\n  }}\n}}\n",
            dependencies.join(",\n")
        ),
    );
    let locked: Vec<String> = packages
        .iter()
        .map(|(dir, _)| {
            let hash = planner.rng.next_u64();
            format!(
                "    \"{dir}\": {{\n      \"version\": \"1.0.0\",\n      \"integrity\": \"sha512-{hash:016x}{:016x}\"\n    }}",
                !hash
            )
        })
        .collect();
    planner.text(
        "package-lock.json".to_string(),
        format!(
            "{{\n  \"name\": \"bench-app\",\n  \"lockfileVersion\": 3,\n  \"packages\": {{\n{}\n  }}\n}}\n",
            locked.join(",\n")
        ),
    );
    planner.entries
}

/// Writes a planned tree under `root` (which must not exist yet).
pub fn write_tree(root: &Path, plan: &[PlannedEntry]) -> Result<(), String> {
    let io = |path: &Path, e: std::io::Error| format!("cannot write {}: {e}", path.display());
    fs::create_dir_all(root).map_err(|e| io(root, e))?;
    let mut buffer = Vec::new();
    for entry in plan {
        let path = root.join(&entry.path);
        match &entry.node {
            Node::Dir => fs::create_dir(&path).map_err(|e| io(&path, e))?,
            Node::File(content) => {
                content.fill(&mut buffer);
                fs::write(&path, &buffer).map_err(|e| io(&path, e))?;
            }
            Node::Symlink(target) => {
                std::os::unix::fs::symlink(target, &path).map_err(|e| io(&path, e))?
            }
        }
    }
    Ok(())
}

/// Writes `spec.count` files of `spec.size` bytes under `root`: each a 1 MiB block of PRNG
/// text repeated (not zeros, which a file system may store sparsely).
pub fn write_large(root: &Path, spec: &LargeSpec) -> Result<(), String> {
    const BLOCK: usize = 1 << 20;
    let io = |path: &Path, e: std::io::Error| format!("cannot write {}: {e}", path.display());
    fs::create_dir_all(root).map_err(|e| io(root, e))?;
    let mut rng = SplitMix64::new(spec.seed);
    let mut block = Vec::with_capacity(BLOCK);
    for index in 0..spec.count {
        block.clear();
        random_text(rng.next_u64(), BLOCK, &mut block);
        let path = root.join(format!("file-{index}.bin"));
        let mut file = fs::File::create(&path).map_err(|e| io(&path, e))?;
        let mut left = spec.size;
        while left > 0 {
            let take = left.min(BLOCK as u64) as usize;
            file.write_all(&block[..take]).map_err(|e| io(&path, e))?;
            left -= take as u64;
        }
    }
    Ok(())
}

/// Makes `dir` with `generate` unless it exists with the stamp `stamp` (next to it, as
/// `<dir>.stamp`); a stale or half-made tree is removed first. Returns true when it
/// generated the tree.
pub fn ensure_tree(
    dir: &Path,
    stamp: &str,
    generate: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<bool, String> {
    let stamp_path = dir.with_extension("stamp");
    if dir.is_dir() && fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(false);
    }
    let _ = fs::remove_file(&stamp_path);
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    generate(dir)?;
    // Written last: an interrupted generation leaves no stamp and is redone.
    fs::write(&stamp_path, stamp)
        .map_err(|e| format!("cannot write {}: {e}", stamp_path.display()))?;
    Ok(true)
}

/// Writes `text` to `path` unless it already holds exactly that (keeps its mtime, so the
/// builds' contexts stay the same from run to run).
pub fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The sizes of one mode's workloads.
#[derive(Debug, Clone)]
pub struct WorkloadSizes {
    /// The node_modules-like tree.
    pub tree: TreeSpec,
    /// The large files.
    pub large: LargeSpec,
}

/// The base image every bench Dockerfile starts from (seeded by `engine up`).
pub const BASE_IMAGE: &str = crate::engine::BASE_IMAGE;

/// How many images the pre-pull check needs.
pub const PREPULL_IMAGES: usize = 10;

/// One build benchmark's Dockerfile and context.
#[derive(Debug, Clone)]
pub struct BuildCase {
    /// What the table calls it.
    pub title: &'static str,
    /// A short name for tags and logs.
    pub slug: &'static str,
    /// The Dockerfile (outside the context, except for the tiny one).
    pub dockerfile: PathBuf,
    /// The context directory.
    pub context: PathBuf,
    /// Whether it reads only a small part of a large context (the stricter goals).
    pub subset: bool,
}

/// Every workload of one run, generated and ready.
#[derive(Debug, Clone)]
pub struct Workloads {
    /// The node_modules-like tree, without a Dockerfile or `.dockerignore`.
    pub small_files: PathBuf,
    /// Its parameters.
    pub tree: TreeSpec,
    /// The same tree with a `.dockerignore` excluding `node_modules`.
    pub ignored: PathBuf,
    /// The large files.
    pub large_files: PathBuf,
    /// Their parameters.
    pub large: LargeSpec,
    /// The build benchmarks, in table order.
    pub builds: Vec<BuildCase>,
    /// The pre-pull check's context, holding its Dockerfile.
    pub prepull: PathBuf,
    /// The local image names the pre-pull Dockerfile needs, one per stage.
    pub prepull_images: Vec<String>,
}

/// The `.dockerignore` of the ignored tree, and the GNU tar option that matches it.
pub const DOCKERIGNORE: &str = "node_modules\n";
/// What GNU tar is given to leave out the same paths.
pub const TAR_EXCLUDE: &str = "--exclude=./node_modules";

/// Generates what is missing or stale under `root` and writes the Dockerfiles.
pub fn prepare(root: &Path, sizes: &WorkloadSizes) -> Result<Workloads, String> {
    let small_files = root.join("small-files");
    let ignored = root.join("small-behind-dockerignore");
    let large_files = root.join("large-files");
    let tree_stamp = format!("generator {GENERATOR_VERSION}\n{:?}\n", sizes.tree);
    let plan = std::cell::OnceCell::new();
    let plan = || plan.get_or_init(|| plan_tree(&sizes.tree)).clone();
    let progress = |what: &str, dir: &Path| {
        eprintln!("--> generating {what} in {}", dir.display());
    };
    ensure_tree(&small_files, &tree_stamp, |dir| {
        progress(&format!("{} small files", sizes.tree.entries), dir);
        write_tree(dir, &plan())
    })?;
    let ignored_stamp = format!("{tree_stamp}dockerignore {DOCKERIGNORE:?}\n");
    ensure_tree(&ignored, &ignored_stamp, |dir| {
        progress("the tree behind a .dockerignore", dir);
        write_tree(dir, &plan())?;
        write_if_changed(&dir.join(".dockerignore"), DOCKERIGNORE)
    })?;
    let large_stamp = format!("generator {GENERATOR_VERSION}\n{:?}\n", sizes.large);
    ensure_tree(&large_files, &large_stamp, |dir| {
        progress(
            &format!(
                "{} files of {} MiB",
                sizes.large.count,
                sizes.large.size >> 20
            ),
            dir,
        );
        write_large(dir, &sizes.large)
    })?;
    let builds = write_build_cases(root, &small_files)?;
    let prepull = root.join("prepull");
    let prepull_images: Vec<String> = (0..PREPULL_IMAGES)
        .map(|i| format!("devbuild-bench/prepull-{i}:1"))
        .collect();
    write_if_changed(
        &prepull.join("Dockerfile"),
        &prepull_dockerfile(&prepull_images),
    )?;
    Ok(Workloads {
        small_files,
        tree: sizes.tree.clone(),
        ignored,
        large_files,
        large: sizes.large.clone(),
        builds,
        prepull,
        prepull_images,
    })
}

/// Ten stages, each `FROM` its own image and copying from the previous stage, so that every
/// stage is reachable from the target and every image is needed.
pub fn prepull_dockerfile(images: &[String]) -> String {
    let mut text = String::new();
    for (index, image) in images.iter().enumerate() {
        text.push_str(&format!("FROM {image} AS stage{index}\n"));
        if index > 0 {
            text.push_str(&format!(
                "COPY --from=stage{} /bin/busybox /stage{}\n",
                index - 1,
                index - 1
            ));
        }
    }
    text
}

/// The four build benchmarks of the table: the Dockerfiles of the large-context ones
/// live outside the context (`-f`), so the tree itself holds no Dockerfile.
fn write_build_cases(root: &Path, tree: &Path) -> Result<Vec<BuildCase>, String> {
    let builds = root.join("builds");
    let steps = builds.join("steps");
    write_if_changed(
        &steps.join("Dockerfile"),
        &format!(
            "FROM {BASE_IMAGE}\nWORKDIR /app\nCOPY greeting.txt ./\nRUN wc -c greeting.txt > size.txt\nENV GREETING=hello\nRUN cat greeting.txt size.txt > summary.txt\nCMD [\"cat\", \"/app/summary.txt\"]\n"
        ),
    )?;
    write_if_changed(&steps.join("greeting.txt"), "hello from the bench\n")?;
    let large_context = [
        (
            "`COPY . /ctx` (whole context)",
            "whole",
            format!("FROM {BASE_IMAGE}\nCOPY . /ctx\n"),
            false,
        ),
        (
            "`COPY src /src` (a small part)",
            "subset",
            format!("FROM {BASE_IMAGE}\nCOPY src /src\n"),
            true,
        ),
        (
            "Node layout: `COPY package*.json ./`, `COPY src ./src`",
            "node",
            format!(
                "FROM {BASE_IMAGE}\nWORKDIR /app\nCOPY package*.json ./\nCOPY src ./src\nCMD [\"node\", \"src/index.js\"]\n"
            ),
            true,
        ),
    ];
    let mut cases = vec![BuildCase {
        title: "7 steps, tiny context",
        slug: "steps",
        dockerfile: steps.join("Dockerfile"),
        context: steps.clone(),
        subset: false,
    }];
    for (title, slug, text, subset) in large_context {
        let dockerfile = builds.join(slug).join("Dockerfile");
        write_if_changed(&dockerfile, &text)?;
        cases.push(BuildCase {
            title,
            slug,
            dockerfile,
            context: tree.to_path_buf(),
            subset,
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // The first outputs for seed 0 from the reference implementation.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn the_plan_is_the_same_twice_and_exactly_the_size_asked() {
        let spec = TreeSpec {
            entries: 3_000,
            seed: SEED,
        };
        let first = plan_tree(&spec);
        assert_eq!(first, plan_tree(&spec));
        assert_eq!(first.len(), 3_000);
        let other = plan_tree(&TreeSpec { seed: 1, ..spec });
        assert_ne!(first, other, "the seed matters");
    }

    #[test]
    fn the_plan_looks_like_a_node_project() {
        let plan = plan_tree(&TreeSpec {
            entries: 5_000,
            seed: SEED,
        });
        let has = |path: &str| plan.iter().any(|e| e.path == path);
        for path in [
            "package.json",
            "package-lock.json",
            "src/index.js",
            "node_modules/.bin",
        ] {
            assert!(has(path), "{path} missing");
        }
        let dirs = plan.iter().filter(|e| e.node == Node::Dir).count();
        assert!((200..1_500).contains(&dirs), "{dirs} directories");
        assert!(plan.iter().any(|e| matches!(e.node, Node::Symlink(_))));
        assert!(plan
            .iter()
            .any(|e| e.path.contains("/node_modules/@") || e.path.starts_with("node_modules/@")));
        // Parents before children, and no path twice.
        let mut seen = std::collections::HashSet::new();
        for entry in &plan {
            if let Some((parent, _)) = entry.path.rsplit_once('/') {
                assert!(seen.contains(parent), "{} before its parent", entry.path);
            }
            assert!(seen.insert(entry.path.as_str()), "{} twice", entry.path);
        }
    }

    #[test]
    fn random_content_is_deterministic_and_printable() {
        let content = Content::Random {
            seed: 7,
            len: 1_000,
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        content.fill(&mut a);
        content.fill(&mut b);
        assert_eq!(a, b);
        assert_eq!(a.len(), 1_000);
        assert!(a.iter().all(|byte| ALPHABET.contains(byte)));
    }

    /// Every entry under `root`: path, kind, size and an FNV-1a hash of the content or
    /// link target, sorted.
    fn snapshot(root: &Path) -> Vec<(String, char, u64, u64)> {
        fn fnv(bytes: &[u8]) -> u64 {
            bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
                (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
            })
        }
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, char, u64, u64)>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                let meta = fs::symlink_metadata(&path).unwrap();
                if meta.is_symlink() {
                    let target = fs::read_link(&path).unwrap();
                    out.push((relative, 'l', 0, fnv(target.as_os_str().as_encoded_bytes())));
                } else if meta.is_dir() {
                    out.push((relative, 'd', 0, 0));
                    walk(root, &path, out);
                } else {
                    out.push((relative, 'f', meta.len(), fnv(&fs::read(&path).unwrap())));
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    #[test]
    fn the_generator_writes_the_same_tree_twice() {
        let base = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let spec = TreeSpec {
            entries: 800,
            seed: SEED,
        };
        let stamp = format!("generator {GENERATOR_VERSION}\n{spec:?}\n");
        for name in ["one", "two"] {
            let made = ensure_tree(&base.join(name), &stamp, |dir| {
                write_tree(dir, &plan_tree(&spec))
            })
            .unwrap();
            assert!(made);
        }
        let one = snapshot(&base.join("one"));
        assert_eq!(one.len(), 800);
        assert_eq!(one, snapshot(&base.join("two")));
        // A matching stamp means nothing is regenerated; another stamp regenerates.
        let again = ensure_tree(&base.join("one"), &stamp, |_| panic!("regenerated")).unwrap();
        assert!(!again);
        let regenerated =
            ensure_tree(&base.join("one"), "other\n", |dir| write_tree(dir, &[])).unwrap();
        assert!(regenerated);
        assert!(snapshot(&base.join("one")).is_empty());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn large_files_have_the_asked_size_and_are_not_zeros() {
        let base = std::env::temp_dir().join(format!("xtask-bench-large-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let spec = LargeSpec {
            count: 2,
            size: (1 << 20) + 10,
            seed: SEED,
        };
        write_large(&base, &spec).unwrap();
        for index in 0..2 {
            let bytes = fs::read(base.join(format!("file-{index}.bin"))).unwrap();
            assert_eq!(bytes.len() as u64, spec.size);
            assert!(bytes.iter().all(|b| *b != 0));
        }
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_prepull_dockerfile_chains_every_stage() {
        let images: Vec<String> = (0..3).map(|i| format!("img{i}:1")).collect();
        assert_eq!(
            prepull_dockerfile(&images),
            "FROM img0:1 AS stage0\nFROM img1:1 AS stage1\nCOPY --from=stage0 /bin/busybox /stage0\nFROM img2:1 AS stage2\nCOPY --from=stage1 /bin/busybox /stage1\n"
        );
    }
}
