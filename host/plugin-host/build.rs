//! Builds the plugins in `../plugins` (their own cargo workspace) for
//! `wasm32-wasip2`, so the server can bundle the example plugins and the tests
//! can load the hostile test components, all from one build.
//!
//! Set `SWITCHBOARD_SKIP_PLUGIN_BUILD=1` to build the host without them (then
//! no plugins are bundled and the plugin tests are skipped).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The example plugins `switchboard serve` installs on a fresh data directory.
const BUNDLED: [&str; 4] = ["spam-filter", "keyword-router", "webhook-invoker", "escalation"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let repo = manifest_dir.parent().and_then(|p| p.parent()).expect("host/plugin-host/ is inside the repository").to_path_buf();
    let plugins = repo.join("plugins");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in ["plugins", "sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", repo.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_SKIP_PLUGIN_BUILD");

    let members = workspace_members(&plugins.join("Cargo.toml"));
    let skip = std::env::var_os("SWITCHBOARD_SKIP_PLUGIN_BUILD").is_some() || members.is_empty();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo.join("target")).join("wasm-plugins");
    if !skip {
        build_plugins(&plugins, &target_dir);
    }
    let wasm_dir = target_dir.join("wasm32-wasip2").join("release");
    let mut bundled = String::new();
    let mut tests = String::new();
    if !skip {
        for member in &members {
            let dir = plugins.join(member);
            let name = package_name(&dir.join("Cargo.toml"));
            let wasm = wasm_dir.join(format!("{}.wasm", name.replace('-', "_")));
            let manifest = dir.join("plugin.toml");
            if !wasm.exists() || !manifest.exists() {
                continue;
            }
            let short = member.rsplit('/').next().unwrap_or(member);
            tests.push_str(&format!("    ({short:?}, {:?}, {:?}),\n", wasm.display().to_string(), manifest.display().to_string()));
            if BUNDLED.contains(&member.as_str()) {
                bundled.push_str(&format!(
                    "    (include_str!({:?}), include_bytes!({:?})),\n",
                    manifest.display().to_string(),
                    wasm.display().to_string()
                ));
            }
        }
    }
    let code = format!(
        "/// The bundled example plugins: (manifest, component).\npub const BUNDLED: &[(&str, &[u8])] = &[\n{bundled}];\n\n/// Every plugin built from `plugins/`: (name, component path, manifest path).\npub const BUILT: &[(&str, &str, &str)] = &[\n{tests}];\n"
    );
    std::fs::write(out.join("plugins.rs"), code).expect("write plugins.rs");
}

/// Runs the plugins workspace build (a no-op when nothing changed).
fn build_plugins(plugins: &Path, target_dir: &Path) {
    let target = "wasm32-wasip2";
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if let Ok(list) = installed {
        if !String::from_utf8_lossy(&list.stdout).lines().any(|l| l.trim() == target) {
            let status = Command::new("rustup").args(["target", "add", target]).status();
            if !status.is_ok_and(|s| s.success()) {
                panic!("the {target} target is missing and `rustup target add {target}` failed; install it, or set SWITCHBOARD_SKIP_PLUGIN_BUILD=1");
            }
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(plugins)
        .args(["build", "--release", "--locked", "--workspace", "--target", target, "--target-dir"])
        .arg(target_dir);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_FEATURE_") || key.starts_with("CARGO_CFG_") || key.starts_with("CARGO_PKG_") || key.starts_with("DEP_") {
            command.env_remove(key);
        }
    }
    let output = command.output().expect("run cargo for the plugins workspace");
    if !output.status.success() {
        panic!(
            "building the plugins in {} failed (set SWITCHBOARD_SKIP_PLUGIN_BUILD=1 to build the host without them):\n{}",
            plugins.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Member paths listed in `[workspace] members` of the plugins workspace.
fn workspace_members(manifest: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(manifest) else { return Vec::new() };
    let Some(start) = text.find("members") else { return Vec::new() };
    let rest = &text[start..];
    let Some(open) = rest.find('[') else { return Vec::new() };
    let Some(close) = rest.find(']') else { return Vec::new() };
    rest[open + 1..close]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty() && !m.starts_with('#'))
        .collect()
}

/// The `name` of a package manifest.
fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    text.lines()
        .find_map(|l| {
            l.trim().strip_prefix("name").and_then(|r| r.trim().strip_prefix('=')).map(|v| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_default()
}
