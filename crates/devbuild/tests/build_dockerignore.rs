//! Docker-backed: a build behind a `.dockerignore` that excludes most of a large tree sends
//! only what it should, as the upload's summary and the files inside the build show.

use devbuild::engine_client::endpoint::Endpoint;
use devbuild::engine_client::engine::{ConnectOptions, Engine};
use devbuild::events::{Event, StepEvent};
use devbuild::{build, BuildSpec};
use devbuild_tests::{engine_test, TestEnv};

engine_test! {
    /// 3000 files in `node_modules/` and `build/` are left out; `src/` and one re-included
    /// file are sent.
    fn dockerignore_excludes_most_of_a_large_tree(test) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for top in ["node_modules", "build"] {
            for sub in 0..30 {
                let d = root.join(top).join(format!("d{sub}"));
                std::fs::create_dir_all(&d).unwrap();
                for file in 0..50 {
                    std::fs::write(d.join(format!("f{file}.txt")), vec![b'x'; 1000]).unwrap();
                }
            }
        }
        std::fs::create_dir_all(root.join("src")).unwrap();
        for file in 0..5 {
            std::fs::write(root.join("src").join(format!("m{file}.rs")), "fn main() {}\n").unwrap();
        }
        std::fs::write(root.join(".dockerignore"), "node_modules\nbuild\n!build/d3/f7.txt\n").unwrap();
        std::fs::write(
            root.join("Dockerfile"),
            format!("FROM {}\nCOPY . /ctx\nRUN find /ctx -type f | sort\n", test.base_image),
        )
        .unwrap();
        std::env::set_var("DOCKER_CONFIG", &TestEnv::load().unwrap().docker_config);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (outcome, events) = runtime.block_on(async {
            let endpoint = Endpoint::unix(&test.socket);
            let engine = Engine::connect(endpoint, &ConnectOptions::default()).await.unwrap();
            let mut spec = BuildSpec::new(root);
            spec.no_cache = true;
            let mut events = Vec::new();
            let outcome = build(&engine, &spec, |e| events.push(e.clone())).await.unwrap();
            (outcome, events)
        });
        let summary = outcome.context.expect("the context's summary");
        // Dockerfile, .dockerignore, src/ + 5 files, build/, build/d3/, build/d3/f7.txt.
        assert_eq!(summary.entries, 11, "{summary:#?}");
        assert_eq!(summary.bytes, 1000 + 5 * 13 + std::fs::metadata(root.join("Dockerfile")).unwrap().len()
            + std::fs::metadata(root.join(".dockerignore")).unwrap().len());
        assert!(summary.excluded >= 2, "{summary:#?}");
        let done = events.iter().find_map(|e| match e {
            Event::UploadProgress { entries, done: true, bytes, .. } => Some((*entries, *bytes)),
            _ => None,
        });
        assert_eq!(done, Some((11, summary.archive_bytes)));
        let mut files: Vec<String> = events.iter().filter_map(|e| match e {
            Event::Step(StepEvent::StepLog { line, .. }) if line.starts_with("/ctx/") => Some(line.clone()),
            _ => None,
        }).collect();
        files.sort();
        assert_eq!(files, [
            "/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/build/d3/f7.txt",
            "/ctx/src/m0.rs", "/ctx/src/m1.rs", "/ctx/src/m2.rs", "/ctx/src/m3.rs", "/ctx/src/m4.rs",
        ]);
    }
}
