//! `switchboard plugin new`: a ready-to-build Rust plugin project.

use std::path::Path;

use crate::manifest::World;

const TYPES_WIT: &str = include_str!("../../../wit/types.wit");
const WORLDS_WIT: &str = include_str!("../../../wit/worlds.wit");
const WASI_DEPS: [(&str, &str); 7] = [
    ("cli", include_str!("../../../wit/deps/cli/cli.wit")),
    ("clocks", include_str!("../../../wit/deps/clocks/clocks.wit")),
    ("filesystem", include_str!("../../../wit/deps/filesystem/filesystem.wit")),
    ("http", include_str!("../../../wit/deps/http/http.wit")),
    ("io", include_str!("../../../wit/deps/io/io.wit")),
    ("random", include_str!("../../../wit/deps/random/random.wit")),
    ("sockets", include_str!("../../../wit/deps/sockets/sockets.wit")),
];

fn lib_rs(world: World) -> &'static str {
    match world {
        World::PostmasterFilter => {
            r#"//! A postmaster filter: sees each incoming mail and returns a verdict.

// The world's `use` brings Mail, Verdict and PluginError into scope.
wit_bindgen::generate!({ path: "wit", world: "switchboard:plugin/postmaster-filter", generate_all });

struct Plugin;

impl Guest for Plugin {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        let mut verdict = Verdict {
            queue: None, state: None, priority: None, owner: None, responsible: None, ticket_type: None, title: None,
            customer_user: None, customer_company: None, dynamic_fields: Vec::new(), sender_type: None,
            visible_for_customer: None, ignore: false, stop: false,
        };
        if mail.subject.to_lowercase().contains("urgent") {
            verdict.priority = Some(4);
        }
        switchboard::plugin::log::write(switchboard::plugin::log::Level::Info, &format!("filtered '{}'", mail.subject));
        Ok(verdict)
    }
}

export!(Plugin);
"#
        }
        World::ScriptTask => {
            r#"//! A script task: runs against one ticket and may change it.

wit_bindgen::generate!({ path: "wit", world: "switchboard:plugin/script-task", generate_all });

// The world's `use` brings TaskContext, Outcome, Param and PluginError into scope.
use switchboard::plugin::ticket;
use switchboard::plugin::types::{Note, TicketChange};

struct Plugin;

impl Guest for Plugin {
    fn run(_context: TaskContext, _params: Vec<Param>) -> Result<Outcome, PluginError> {
        let t = ticket::get();
        if t.title.to_lowercase().contains("urgent") && t.priority < 4 {
            ticket::change(&TicketChange::Priority(4))?;
            ticket::change(&TicketChange::AddNote(Note {
                subject: "Priority raised".into(),
                body: "The title says urgent.".into(),
                visible_for_customer: false,
            }))?;
            return Ok(Outcome { result: Some("raised".into()), data: Vec::new() });
        }
        Ok(Outcome { result: Some("unchanged".into()), data: Vec::new() })
    }
}

export!(Plugin);
"#
        }
        World::TransitionAction => {
            r#"//! A transition action: returns ticket changes for the host to apply.

wit_bindgen::generate!({ path: "wit", world: "switchboard:plugin/transition-action", generate_all });

// The world's `use` brings ActionContext, Param, PluginError and TicketChange into scope.

struct Plugin;

impl Guest for Plugin {
    fn apply(context: ActionContext, _params: Vec<Param>) -> Result<Vec<TicketChange>, PluginError> {
        let mut changes = Vec::new();
        if context.ticket.owner.is_none() {
            changes.push(TicketChange::Owner(Some("admin".into())));
        }
        Ok(changes)
    }
}

export!(Plugin);
"#
        }
        World::ServiceInvoker => {
            r#"//! A service invoker: calls a web service granted in plugin.toml.

wit_bindgen::generate!({ path: "wit", world: "switchboard:plugin/service-invoker", generate_all });

// The world's `use` brings InvokeRequest, InvokeResponse and PluginError into scope.
use switchboard::plugin::types::Param;

struct Plugin;

impl Guest for Plugin {
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
        // Build a request with wasi::http::outgoing_handler (see the SDK for a helper).
        Ok(InvokeResponse { data: vec![Param { key: "operation".into(), value: request.operation }], error_code: None })
    }
}

export!(Plugin);
"#
        }
    }
}

/// Writes a new plugin project for `world` into `dir/name`.
pub fn create(dir: &Path, name: &str, world: World) -> std::io::Result<std::path::PathBuf> {
    let root = dir.join(name);
    if root.exists() {
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, format!("{} already exists", root.display())));
    }
    let crate_name = name.replace('-', "_");
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::create_dir_all(root.join(".cargo"))?;
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nwit-bindgen = \"0.63\"\n\n[profile.release]\nopt-level = \"s\"\nlto = true\nstrip = true\npanic = \"abort\"\n\n[workspace]\n"
        ),
    )?;
    std::fs::write(
        root.join(".cargo/config.toml"),
        "[build]\ntarget = \"wasm32-wasip2\"\n\n# A 64 KiB stack keeps the instance small: a fresh instance per call is then\n# about twice as fast as with the default 1 MiB stack.\n[target.wasm32-wasip2]\nrustflags = [\"-C\", \"link-arg=-zstack-size=65536\"]\n",
    )?;
    std::fs::write(
        root.join("plugin.toml"),
        format!(
            "name = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"TODO: what this plugin does\"\nworld = \"{}\"\nwit = \"0.1.0\"\n\n[capabilities]\n# kv = true\n{}\n[limits]\nmemory_mib = 64\ntimeout_ms = 2000\n",
            world.as_str(),
            if world == World::ServiceInvoker { "# http = [\"https://api.example.com\"]\n" } else { "" }
        ),
    )?;
    std::fs::write(root.join("src/lib.rs"), lib_rs(world))?;
    std::fs::create_dir_all(root.join("wit"))?;
    std::fs::write(root.join("wit/types.wit"), TYPES_WIT)?;
    std::fs::write(root.join("wit/worlds.wit"), WORLDS_WIT)?;
    for (dep, text) in WASI_DEPS {
        std::fs::create_dir_all(root.join("wit/deps").join(dep))?;
        std::fs::write(root.join("wit/deps").join(dep).join(format!("{dep}.wit")), text)?;
    }
    std::fs::write(
        root.join("README.md"),
        format!(
            "# {name}\n\nA Switchboard {world} plugin.\n\n```sh\ncargo build --release\nswitchboard plugin run target/wasm32-wasip2/release/{crate_name}.wasm --manifest plugin.toml {}\nswitchboard plugin install target/wasm32-wasip2/release/{crate_name}.wasm --manifest plugin.toml\n```\n",
            match world {
                World::PostmasterFilter => "--mail some.eml",
                World::ScriptTask | World::TransitionAction => "--ticket-json ticket.json",
                World::ServiceInvoker => "--input request.json",
            },
            world = world.as_str()
        ),
    )?;
    Ok(root)
}
