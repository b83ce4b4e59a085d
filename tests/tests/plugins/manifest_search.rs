//! `switchboard plugin run` finds `plugin.toml` in the directories above the
//! component, as cargo finds `Cargo.toml`, so a project's own build output runs
//! without `--manifest`.

use crate::support::*;
use crate::SPAM_MAIL;

#[test]
fn plugin_run_finds_the_manifest_above_the_component() {
    let project = tempfile::tempdir().expect("temp dir");
    let release = project.path().join("target/wasm32-wasip2/release");
    std::fs::create_dir_all(&release).expect("mkdir");
    let component = release.join("spam_filter.wasm");
    std::fs::copy(wasm("spam_filter"), &component).expect("copy the component");
    std::fs::copy(manifest_path("spam-filter"), project.path().join("plugin.toml")).expect("copy the manifest");
    let mail = write(project.path(), "spam.eml", SPAM_MAIL);
    let component = component.display().to_string();

    let out = local_ok(&["plugin", "run", &component, "--mail", &mail]);
    assert!(out.contains("Junk"), "the spam filter ran with the project's manifest:\n{out}");

    // Without a manifest anywhere above, the error says what to pass.
    std::fs::remove_file(project.path().join("plugin.toml")).expect("remove");
    let out = local(&["plugin", "run", &component, "--mail", &mail], None);
    let (stdout, stderr) = texts(&out);
    assert!(!out.status.success(), "ran without a manifest:\n{stdout}");
    assert!(stderr.contains("no plugin.toml") && stderr.contains("--manifest"), "{stderr}");
}
