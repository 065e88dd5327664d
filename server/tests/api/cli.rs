use std::process::Command;

fn hale() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hale"))
}

#[test]
fn validate_accepts_a_good_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hale.yaml");
    std::fs::write(
        &path,
        "services:\n  - name: a\n    url: http://127.0.0.1:1/\n",
    )
    .unwrap();
    let out = hale()
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (1 services, 0 status pages)"));
}

#[test]
fn validate_and_serve_reject_a_bad_config_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "services:\n  - name: a\n    url: http://x/\n    interval: soon\n",
    )
    .unwrap();
    let expected = format!(
        "{}:4:15: services[0].interval: invalid duration \"soon\"",
        path.display()
    );

    let out = hale()
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&expected), "{stderr}");

    let db = dir.path().join("never.db");
    let out = hale()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&expected));
    assert!(
        !db.exists(),
        "a bad config stops start-up before anything is written"
    );
}

#[test]
fn serve_rejects_an_unknown_database_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let out = hale()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "mysql://x/y",
        ])
        .env_remove("HALE_CONFIG")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}
