//! Docker-backed: the harness's authorization plugin in front of the `authz` engine of
//! `cargo xtask engine up` logs every request and denies exactly what a rule names, with the
//! engine's own 403. Without the authz engine the test prints `SKIPPED` and passes, except
//! under CI, where it fails.

devbuild_tests::authz_test! {
    /// The harness's plugin refuses what a rule names and nothing else, with the engine's 403:
    /// checked with the test harness's own client.
    fn the_plugin_denies_exactly_what_a_rule_names(authz, Shared) {
        let engine = &authz.engine;
        let name = engine.unique_name("authz-inspect-denied");
        let message = format!("devbuild-test: no inspecting {name}");
        authz.deny("GET", &name, &message);
        let denied = engine.get(&format!("/images/{name}/json"));
        assert_eq!(denied.status, 403, "{}", denied.text());
        assert_eq!(
            denied.json()["message"],
            format!("authorization denied by plugin {}: {message}", authz.plugin)
        );
        // A name the rule does not contain is not denied (the image is missing: 404).
        let other = engine.get(&format!(
            "/images/{}/json",
            engine.unique_name("authz-inspect-allowed")
        ));
        assert_eq!(other.status, 404, "{}", other.text());
        let denied_line = format!("GET /v{}/images/{name}/json", engine.api_version);
        let log = std::fs::read_to_string(&authz.log).unwrap();
        assert!(
            log.lines().any(|l| l == denied_line),
            "{} has no line {denied_line:?}",
            authz.log.display()
        );
    }
}
