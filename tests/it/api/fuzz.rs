//! The API description other tools can trust: the document passes `openapi-spec-validator`, and a bounded
//! schemathesis pass (its default checks, a fixed seed, `tests/schemathesis.toml`) against the real server
//! finds nothing: no undocumented status, no schema-valid request refused, no schema-violating request
//! taken, no 5xx. Both tools are installed by `tests/run.sh`; a missing one fails this test.

use super::Team;
use std::process::Command;

/// Runs a Python tool's entry point with `args`; answers whether it passed and what it said.
fn python(code: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new("python3").arg("-c").arg(code).args(args).output().expect("python3 runs");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), said)
}

const SCHEMATHESIS: &str = "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; \
                            sys.exit(schemathesis())";

#[actix_rt::test]
async fn the_document_is_valid_and_a_fuzzing_pass_finds_nothing_it_does_not_say() {
    let team = Team::new().await;
    let (status, doc) = team.call("GET", "/api/v1/openapi.json", &team.admin, None).await;
    assert_eq!(status, 200);
    let file = team.app.dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let path = file.to_str().unwrap().to_owned();
    let (valid, said) = tokio::task::spawn_blocking(move || {
        python("import sys; from openapi_spec_validator.__main__ import main; sys.exit(main())", &[&path])
    })
    .await
    .unwrap();
    assert!(valid, "openapi-spec-validator: {said}");

    let url = format!("{}/api/v1/openapi.json", team.app.url);
    let header = format!("Authorization: Bearer {}", team.admin);
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let (passed, said) = tokio::task::spawn_blocking(move || {
        let args = ["--config-file", config, "run", &url, "-H", &header, "--no-color"];
        python(SCHEMATHESIS, &args)
    })
    .await
    .unwrap();
    assert!(passed, "schemathesis found what the document does not say:\n{said}");
    assert!(said.contains("Tested: "), "schemathesis ran: {said}");
}
