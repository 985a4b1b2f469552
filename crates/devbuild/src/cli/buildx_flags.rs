//! The options of `docker buildx build` beyond the Dockerfile's inputs: those the Engine
//! API's /build serves (set on the spec), the legacy ones buildx accepts
//! and ignores (accepted with a warning), and those it cannot serve: refused before
//! anything runs, in one line saying why and what works instead.

use devbuild::build::BuildSpec;
use devbuild::engine_client::run_settings::{parse_size, ExtraHost, Network, Ulimit};

/// What the `RUN`s get, and the cache: served by the Engine API.
#[derive(Debug, clap::Args)]
pub struct EngineFlags {
    /// An `/etc/hosts` entry for the RUNs, `host:ip` or `host=ip` (`host-gateway` for the
    /// engine's host; repeatable, comma-separated).
    #[arg(long = "add-host", value_name = "HOST:IP", value_delimiter = ',')]
    add_hosts: Vec<String>,
    /// The network of the RUNs: default, host or none.
    #[arg(long, value_name = "MODE")]
    network: Option<String>,
    /// The size of the RUNs' /dev/shm (`64m`, `1g`; Engine 23.0 and later).
    #[arg(long = "shm-size", value_name = "BYTES")]
    shm_size: Option<String>,
    /// A resource limit of the RUNs, `name=soft[:hard]` (Engine 23.0 and later; repeatable).
    #[arg(long = "ulimit", value_name = "NAME=SOFT[:HARD]")]
    ulimits: Vec<String>,
    /// An image whose inline cache the build may use, `REF` or `type=registry,ref=REF`:
    /// pulled first with your credentials (repeatable).
    #[arg(long = "cache-from", value_name = "REF")]
    cache_from: Vec<String>,
    /// Where to export the build cache: only `type=inline` (into the image; push it, then
    /// use it with --cache-from).
    #[arg(long = "cache-to", value_name = "type=inline")]
    cache_to: Vec<String>,
    /// An entitlement: only `network.host`, which `--network host` grants.
    #[arg(long, value_name = "ENTITLEMENT", value_delimiter = ',')]
    allow: Vec<String>,
    /// Accepted as `false` only: devbuild's images carry no provenance attestation.
    #[arg(long, value_name = "false", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    provenance: Option<String>,
    /// Accepted as `false` only: devbuild's images carry no SBOM attestation.
    #[arg(long, value_name = "false", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    sbom: Option<String>,
}

impl EngineFlags {
    /// Sets them on `spec`; a value that is not what its option takes is an error naming it.
    pub fn apply(&self, spec: &mut BuildSpec) -> Result<(), String> {
        for text in self.add_hosts.iter().filter(|t| !t.is_empty()) {
            let host: ExtraHost = text.parse().map_err(|e| format!("--add-host {e}"))?;
            spec.extra_hosts.push(host);
        }
        if let Some(text) = &self.network {
            spec.network = text
                .parse::<Network>()
                .map_err(|e| format!("--network {e}"))?;
        }
        if let Some(text) = &self.shm_size {
            spec.shm_size = Some(parse_size(text).map_err(|e| format!("--shm-size {e}"))?)
                .filter(|&size| size > 0);
        }
        // A later limit of the same name replaces an earlier one, as in the docker CLI.
        for text in &self.ulimits {
            let limit: Ulimit = text.parse().map_err(|e| format!("--ulimit {e}"))?;
            spec.ulimits.retain(|l| l.name != limit.name);
            spec.ulimits.push(limit);
        }
        for text in &self.cache_from {
            spec.cache_from.extend(cache_from(text)?);
        }
        for text in &self.cache_to {
            cache_to(text)?;
            spec.inline_cache = true;
        }
        for entitlement in self.allow.iter().filter(|e| !e.is_empty()) {
            match entitlement.as_str() {
                "network.host" if spec.network == Network::Host => {}
                "network.host" => {
                    return Err(
                        "--allow network.host: the Engine API grants it only to a build whose every RUN uses the host's network: add --network host (RUN --network=host alone cannot ask for it through /build)"
                            .to_owned(),
                    )
                }
                other => {
                    return Err(format!(
                        "--allow {other}: the Engine API's /build can ask for no entitlement but network.host (with --network host); build with `docker buildx build --allow {other}` instead"
                    ))
                }
            }
        }
        for (flag, value) in [("--provenance", &self.provenance), ("--sbom", &self.sbom)] {
            if let Some(value) = value {
                if !is_false(value) {
                    return Err(format!(
                        "{flag} {value:?}: attestations are {NO_FIELD}; devbuild's images carry none ({flag}=false is accepted), so build with `docker buildx build {flag}` for an attested image"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Go's `strconv.ParseBool` false values, as buildx reads `--provenance=false`.
fn is_false(value: &str) -> bool {
    matches!(value, "0" | "f" | "F" | "false" | "FALSE" | "False")
}

/// `key=value,key=value` as buildx reads cache and output options (keys are
/// case-insensitive; no quoting).
fn attributes(flag: &str, text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(|field| match field.split_once('=') {
            Some((key, value)) => Ok((key.trim().to_ascii_lowercase(), value.to_owned())),
            None => Err(format!(
                "{flag} {text:?}: {field:?} is not key=value (give REF, or key=value pairs such as type=registry,ref=REF)"
            )),
        })
        .collect()
}

/// `--cache-from`: one or more refs (`a,b`), or `type=registry,ref=REF`.
fn cache_from(text: &str) -> Result<Vec<String>, String> {
    if !text.contains('=') {
        return Ok(text
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect());
    }
    let attrs = attributes("--cache-from", text)?;
    let kind = attrs
        .iter()
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.as_str());
    match kind {
        Some("registry") => {}
        Some("local") => {
            return Err(format!(
                "--cache-from {text:?}: the Engine API's /build imports cache only from images, not from a local directory; use an image with inline cache instead (build it with --cache-to type=inline and push it, then --cache-from it)"
            ))
        }
        Some(other) => {
            return Err(format!(
                "--cache-from {text:?}: the Engine API's /build reads cache only from images (type=registry), not type={other}; use an image with inline cache instead"
            ))
        }
        None => return Err(format!("--cache-from {text:?}: type= is required")),
    }
    let mut reference = None;
    for (key, value) in &attrs {
        match key.as_str() {
            "type" => {}
            "ref" => reference = Some(value.clone()),
            other => {
                return Err(format!(
                    "--cache-from {text:?}: {other}= is not supported: the engine reads the inline cache of the image it has pulled (only ref= applies)"
                ))
            }
        }
    }
    match reference {
        Some(reference) if !reference.is_empty() => Ok(vec![reference]),
        _ => Err(format!("--cache-from {text:?}: ref= is required")),
    }
}

/// `--cache-to`: only `type=inline` (optionally `mode=min`).
fn cache_to(text: &str) -> Result<(), String> {
    const INSTEAD: &str = "use --cache-to type=inline and push the image, then --cache-from it";
    if !text.contains('=') {
        return Err(format!(
            "--cache-to {text:?}: the Engine API's /build exports cache only inline, not to a registry; {INSTEAD}"
        ));
    }
    let attrs = attributes("--cache-to", text)?;
    let kind = attrs
        .iter()
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.as_str());
    match kind {
        Some("inline") => {}
        Some(kind @ ("registry" | "local")) => {
            return Err(format!(
                "--cache-to {text:?}: the Engine API's /build exports cache only inline, not to type={kind}; {INSTEAD}"
            ))
        }
        Some(other) => {
            return Err(format!(
                "--cache-to {text:?}: the Engine API's /build exports cache only inline, not to type={other}; {INSTEAD}"
            ))
        }
        None => return Err(format!("--cache-to {text:?}: type= is required")),
    }
    for (key, value) in &attrs {
        match (key.as_str(), value.as_str()) {
            ("type", _) | ("mode", "min") => {}
            ("mode", _) => {
                return Err(format!(
                    "--cache-to {text:?}: inline cache holds only mode=min (mode=max needs a cache exporter, which the Engine API's /build cannot ask BuildKit for)"
                ))
            }
            (other, _) => {
                return Err(format!(
                    "--cache-to {text:?}: {other}= does not apply to type=inline"
                ))
            }
        }
    }
    Ok(())
}

/// Options devbuild refuses: the Engine API's `/build` cannot pass them to BuildKit, or
/// does not reach the part of BuildKit they need.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Refused (the Engine API's /build cannot pass them to BuildKit)")]
pub struct RefusedFlags {
    /// Additional build contexts, `name=path|image|url`.
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    build_context: Vec<String>,
    /// Do not cache the named stages.
    #[arg(long = "no-cache-filter", value_name = "STAGE")]
    no_cache_filter: Vec<String>,
    /// Evaluate the build another way: check, outline, targets.
    #[arg(long, value_name = "METHOD")]
    call: Option<String>,
    /// Shorthand for --call=check.
    #[arg(long)]
    check: bool,
    /// buildx's older name of --call.
    #[arg(long, value_name = "METHOD", hide = true)]
    print: Option<String>,
    /// Attestations to attach (`--provenance=false` and `--sbom=false` are accepted).
    #[arg(long, value_name = "PARAMS")]
    attest: Vec<String>,
    /// An OCI annotation for the image.
    #[arg(long, value_name = "K=V")]
    annotation: Vec<String>,
    /// The parent cgroup of the RUNs.
    #[arg(long = "cgroup-parent", value_name = "CGROUP")]
    cgroup_parent: Option<String>,
    /// A buildx builder instance.
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    /// buildx's experimental build server.
    #[arg(long, hide = true)]
    detach: bool,
    /// buildx's experimental build server's root directory.
    #[arg(long, value_name = "DIR", hide = true)]
    root: Option<String>,
    /// buildx's experimental build server's configuration.
    #[arg(long = "server-config", value_name = "FILE", hide = true)]
    server_config: Option<String>,
}

/// Why an option cannot be served: the Engine API's `/build` has no field for it (buildx
/// passes it to BuildKit's frontend through BuildKit's own API).
const NO_FIELD: &str = "a frontend option the Engine API's /build cannot pass to BuildKit";

impl RefusedFlags {
    /// The refusal of the first refused option given, if any.
    pub fn refusal(&self) -> Option<String> {
        if !self.build_context.is_empty() {
            return Some(format!(
                "--build-context needs {NO_FIELD}: copy what it holds into the context, or name the image in the Dockerfile (FROM / COPY --from=IMAGE) instead"
            ));
        }
        if !self.no_cache_filter.is_empty() {
            return Some(format!(
                "--no-cache-filter needs {NO_FIELD}: use --no-cache (every stage rebuilt), or change the stage's instructions to bust its cache"
            ));
        }
        let call = self
            .call
            .as_deref()
            .or(self.print.as_deref())
            .filter(|method| *method != "build");
        if self.check || call.is_some() {
            let flag = match (self.check, call) {
                (true, _) => "--check".to_owned(),
                (false, Some(method)) => format!("--call {method}"),
                (false, None) => unreachable!("one of them is given"),
            };
            return Some(format!(
                "{flag} needs {NO_FIELD}: `devbuild froms` shows the stages and images, a build shows BuildKit's warnings; for the frontend's checks use `docker buildx build --check`"
            ));
        }
        let attestations: Vec<&String> = self
            .attest
            .iter()
            .filter(|a| !a.split(',').any(|f| f == "disabled=true"))
            .collect();
        if let Some(attest) = attestations.first() {
            return Some(format!(
                "--attest {attest:?}: attestations need {NO_FIELD}; build with `docker buildx build --attest` for an attested image (--provenance=false and --sbom=false are accepted)"
            ));
        }
        if !self.annotation.is_empty() {
            return Some(
                "--annotation: the Engine API's /build cannot annotate the image; use --label, which it can set"
                    .to_owned(),
            );
        }
        if self.cgroup_parent.is_some() {
            return Some(
                "--cgroup-parent: the engine's BuildKit ignores the cgroup parent of /build; set the daemon's cgroup-parent, which its builds use"
                    .to_owned(),
            );
        }
        if let Some(builder) = &self.builder {
            return Some(format!(
                "--builder {builder:?}: devbuild builds on one engine, not a buildx builder: point DOCKER_HOST or DOCKER_CONTEXT at it"
            ));
        }
        if self.detach || self.root.is_some() || self.server_config.is_some() {
            return Some(
                "--detach, --root and --server-config are for buildx's experimental build server; devbuild talks to the engine itself"
                    .to_owned(),
            );
        }
        None
    }
}

/// The options of the classic `docker build` that buildx accepts and ignores: accepted,
/// each with a warning that it has no effect.
#[derive(Debug, clap::Args)]
pub struct LegacyFlags {
    #[arg(long, hide = true)]
    isolation: Option<String>,
    #[arg(long = "security-opt", hide = true)]
    security_opt: Vec<String>,
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    squash: Option<String>,
    #[arg(short = 'm', long, hide = true)]
    memory: Option<String>,
    #[arg(long = "memory-swap", hide = true)]
    memory_swap: Option<String>,
    #[arg(short = 'c', long = "cpu-shares", hide = true)]
    cpu_shares: Option<String>,
    #[arg(long = "cpu-period", hide = true)]
    cpu_period: Option<String>,
    #[arg(long = "cpu-quota", hide = true)]
    cpu_quota: Option<String>,
    #[arg(long = "cpuset-cpus", hide = true)]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems", hide = true)]
    cpuset_mems: Option<String>,
    // `--rm` and `--force-rm` only matter to the classic builder's containers; BuildKit
    // leaves none behind: accepted without a word.
    #[allow(dead_code)]
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    rm: Option<String>,
    #[allow(dead_code)]
    #[arg(long = "force-rm", hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    force_rm: Option<String>,
}

impl LegacyFlags {
    /// One warning per legacy option given.
    pub fn warnings(&self) -> Vec<String> {
        let given = [
            ("--isolation", self.isolation.is_some()),
            ("--security-opt", !self.security_opt.is_empty()),
            ("--squash", self.squash.is_some()),
            ("--memory", self.memory.is_some()),
            ("--memory-swap", self.memory_swap.is_some()),
            ("--cpu-shares", self.cpu_shares.is_some()),
            ("--cpu-period", self.cpu_period.is_some()),
            ("--cpu-quota", self.cpu_quota.is_some()),
            ("--cpuset-cpus", self.cpuset_cpus.is_some()),
            ("--cpuset-mems", self.cpuset_mems.is_some()),
        ];
        let mut warnings: Vec<String> = given
            .iter()
            .filter(|(_, given)| *given)
            .map(|(flag, _)| {
                format!("{flag} is ignored: BuildKit does not apply it to builds (as buildx ignores it)")
            })
            .collect();
        if self.security_opt.iter().any(|o| o.contains("insecure")) {
            warnings.push(
                "for an insecure RUN, BuildKit takes RUN --security=insecure, which the Engine API cannot allow".to_owned(),
            );
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_from_takes_refs_and_registry_entries() {
        assert_eq!(cache_from("app:cache").unwrap(), ["app:cache"]);
        assert_eq!(cache_from("a,b").unwrap(), ["a", "b"]);
        assert_eq!(
            cache_from("type=registry,ref=host:5000/app:cache").unwrap(),
            ["host:5000/app:cache"]
        );
        assert_eq!(cache_from("TYPE=registry,Ref=x").unwrap(), ["x"]);
        for (bad, says) in [
            ("type=local,src=dir", "not from a local directory"),
            ("type=gha", "type=gha"),
            ("ref=x", "type= is required"),
            ("type=registry", "ref= is required"),
            ("type=registry,ref=x,mode=max", "mode="),
            ("type=registry,x", "not key=value"),
        ] {
            let err = cache_from(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn cache_to_takes_only_inline() {
        assert!(cache_to("type=inline").is_ok());
        assert!(cache_to("type=inline,mode=min").is_ok());
        for (bad, says) in [
            ("app:cache", "not to a registry"),
            ("type=registry,ref=app:cache", "not to type=registry"),
            ("type=local,dest=dir", "not to type=local"),
            ("type=s3", "only inline"),
            ("type=inline,mode=max", "mode=min"),
        ] {
            let err = cache_to(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
