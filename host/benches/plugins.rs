//! Plugin call benchmark: a fresh instance per call of the example postmaster
//! filter on a realistic 2 KB mail (p50, p99, calls/s on one and two threads),
//! next to the same scoring logic as native Rust and to the bare wasmtime
//! floor (`floor`: the same component through a minimal setup with nothing of
//! ours around it) in the same run, with the host's p50 as a ratio to the
//! floor's; the Python
//! and JavaScript builds of the filter when they were built; install-to-first-
//! call and restart-to-first-call times.
//!
//! Run: `cargo bench -p switchboard --bench plugins` (release build). Options
//! (after `--`): `--calls N` (default 20000), `--only-rust` (skip the Python and
//! JavaScript builds and the server restart). Python/JS components are looked
//! up at target/wasm32-wasip2/release/spam_filter_{py,js}.wasm.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchboard::db::{Db, SqliteSync};
use switchboard::desk::{Actor, DeskSettings, SystemDesk};
use switchboard::plugin::wit::{mail_from_bytes, Mail};
use switchboard::plugin::{PluginHost, PluginHostSettings};

#[path = "plugins/floor.rs"]
mod floor;

#[path = "../../plugins/spam-filter/src/score.rs"]
#[allow(dead_code, missing_docs, unreachable_pub, unused_imports)]
mod score;

fn realistic_mail() -> Vec<u8> {
    let mut mail = String::from(
        "Return-Path: <jane.doe@customer.example>\r\nReceived: from mx1.customer.example (mx1.customer.example [203.0.113.7])\r\n\tby mail.helpdesk.example with ESMTPS id 4F2A1C; Sun, 29 Nov 2026 09:12:44 +0000\r\nFrom: Jane Doe <jane.doe@customer.example>\r\nTo: Support <support@helpdesk.example>\r\nCc: IT Operations <it-ops@customer.example>\r\nSubject: Printer on the 3rd floor keeps jamming after the toner change\r\nDate: Sun, 29 Nov 2026 09:12:40 +0000\r\nMessage-ID: <20261129091240.4F2A1C@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    let para = "Hello support team,\r\n\r\nsince we replaced the toner cartridge yesterday the printer on the third floor (HP LaserJet, asset 4711) jams on nearly every second page. We cleaned the rollers and tried two different paper trays, but the problem stays. The display shows error 13.20.00 and asks to open the rear door.\r\n\r\n";
    while mail.len() < 1900 {
        mail.push_str(para);
    }
    mail.push_str("Kind regards,\r\nJane Doe\r\nCustomer Example Ltd.\r\n");
    mail.into_bytes()
}

fn to_sdk(m: &Mail) -> switchboard_sdk::types::Mail {
    use switchboard_sdk::types as s;
    let addr = |a: &Vec<switchboard::plugin::wit::Address>| {
        a.iter().map(|x| s::Address { name: x.name.clone(), email: x.email.clone() }).collect()
    };
    s::Mail {
        account: m.account.clone(),
        account_trusted: m.account_trusted,
        headers: m.headers.iter().map(|h| s::Header { name: h.name.clone(), value: h.value.clone() }).collect(),
        message_id: m.message_id.clone(),
        subject: m.subject.clone(),
        from: addr(&m.from),
        to: addr(&m.to),
        cc: addr(&m.cc),
        reply_to: addr(&m.reply_to),
        text_body: m.text_body.clone(),
        html_body: m.html_body.clone(),
        attachments: Vec::new(),
        size: m.size,
    }
}

/// Back-to-back rounds of floor and host calls the host/floor ratio is the median of.
const ROUNDS: usize = 7;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn component(name: &str) -> Option<(Vec<u8>, String)> {
    let (_, wasm, manifest) = switchboard::plugin::built::BUILT.iter().find(|(n, _, _)| *n == name)?;
    Some((std::fs::read(wasm).ok()?, std::fs::read_to_string(manifest).ok()?))
}

async fn open_desk(dir: &std::path::Path) -> SystemDesk {
    let db = Db::connect(&format!("sqlite://{}", dir.join("bench.db").display()), SqliteSync::Normal).await.expect("db");
    db.migrate().await.expect("migrate");
    let desk = SystemDesk::new(db, DeskSettings::default());
    desk.bootstrap().await.expect("bootstrap");
    desk
}

async fn latency(host: &PluginHost, name: &str, mail: &Mail, calls: usize) -> (Duration, Duration, f64) {
    for _ in 0..calls.min(500) {
        let (r, _) = host.filter_mail(name, mail.clone()).await.expect("loaded");
        r.expect("warm-up call");
    }
    let mut samples = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        let (r, _) = host.filter_mail(name, mail.clone()).await.expect("loaded");
        r.expect("call");
        samples.push(t.elapsed());
    }
    let rate = calls as f64 / started.elapsed().as_secs_f64();
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99), rate)
}

async fn throughput(host: &PluginHost, name: &str, mail: &Mail, threads: usize, per_thread: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..threads {
        let host = host.clone();
        let mail = mail.clone();
        let name = name.to_string();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_thread {
                let (r, _) = host.filter_mail(&name, mail.clone()).await.expect("loaded");
                r.expect("call");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    (threads * per_thread) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let calls: usize = std::env::args().skip_while(|a| a != "--calls").nth(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        println!("plugin call benchmark — {} cores, {calls} calls per measurement, release build", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let raw = realistic_mail();
        let mail = mail_from_bytes(&raw, "bench", false, 1 << 20).expect("mail");
        println!("mail: {} bytes\n", raw.len());

        // Native: the filter's own scoring code, compiled into this benchmark.
        let sdk_mail = to_sdk(&mail);
        let rules = score::Rules::with_extra_words("");
        let mut samples = Vec::with_capacity(calls);
        let started = Instant::now();
        for _ in 0..calls {
            let t = Instant::now();
            std::hint::black_box(score::assess(std::hint::black_box(&sdk_mail), &rules));
            samples.push(t.elapsed());
        }
        let native_rate = calls as f64 / started.elapsed().as_secs_f64();
        samples.sort();
        println!("{:<34} p50 {:>8.2} µs   p99 {:>8.2} µs   {:>10.0} calls/s (1 thread)", "native Rust (same scoring code)", percentile(&samples, 0.5).as_secs_f64() * 1e6, percentile(&samples, 0.99).as_secs_f64() * 1e6, native_rate);

        let dir = tempfile::tempdir().expect("temp");
        let desk = open_desk(dir.path()).await;
        let settings = PluginHostSettings {
            cache_dir: dir.path().join("cache"),
            require_signatures: false,
            records_kept: 1000,
            ceilings: Default::default(),
            protected: Default::default(),
            execution: Default::default(),
        };
        let host = PluginHost::new(Some(desk.clone()), settings.clone()).expect("host");

        let mut components: Vec<(&str, String, Vec<u8>, String)> = Vec::new();
        if let Some((wasm, manifest)) = component("spam-filter") {
            components.push(("Rust", "spam-filter".into(), wasm, manifest));
        }
        let release = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release");
        let only_rust = std::env::args().any(|a| a == "--only-rust");
        let others = if only_rust { Vec::new() } else { vec![("Python", "spam_filter_py.wasm", "spam-filter-py"), ("JavaScript", "spam_filter_js.wasm", "spam-filter-js")] };
        for (lang, file, dir_name) in others {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins").join(dir_name).join("plugin.toml");
            if let (Ok(wasm), Ok(text)) = (std::fs::read(release.join(file)), std::fs::read_to_string(&manifest)) {
                let name = text.lines().find_map(|l| l.strip_prefix("name = ")).map(|n| n.trim_matches('"').to_string()).unwrap_or_default();
                components.push((lang, name, wasm, text));
            } else {
                println!("({lang} filter not built: {} missing; run plugins/build-{}.sh)", release.join(file).display(), if lang == "Python" { "py" } else { "js" });
            }
        }
        let mut bare_floor = None;
        if let Some((_, _, wasm, _)) = components.iter().find(|c| c.0 == "Rust") {
            for (metered, label) in [(false, "bare wasmtime floor, Rust filter"), (true, "  the floor + fuel and epochs")] {
                let floor = floor::Floor::new(wasm, &mail, metered);
                let (p50, p99, rate1) = floor.latency(calls);
                let rate2 = floor.throughput(2, calls / 2);
                println!(
                    "{label:<34} p50 {:>8.2} µs   p99 {:>8.2} µs   {:>10.0} calls/s (1 thread) {:>10.0} calls/s (2 threads)",
                    p50.as_secs_f64() * 1e6,
                    p99.as_secs_f64() * 1e6,
                    rate1,
                    rate2
                );
                if !metered {
                    bare_floor = Some(floor);
                }
            }
        }
        for (lang, name, wasm, manifest) in &components {
            let t = Instant::now();
            host.install(&Actor::System, wasm.clone(), manifest, None).await.expect("install");
            let (r, _) = host.filter_mail(name, mail.clone()).await.expect("loaded");
            r.expect("first call");
            let install_to_first = t.elapsed();
            let n = if *lang == "Rust" { calls } else { (calls / 10).max(200) };
            let (p50, p99, rate1) = latency(&host, name, &mail, n).await;
            let rate2 = throughput(&host, name, &mail, 2, n / 2).await;
            println!(
                "{:<34} p50 {:>8.2} µs   p99 {:>8.2} µs   {:>10.0} calls/s (1 thread) {:>10.0} calls/s (2 threads)   install→first call {:>7.1} ms   ({} KB)",
                format!("{lang} filter, fresh instance/call"),
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6,
                rate1,
                rate2,
                install_to_first.as_secs_f64() * 1e3,
                wasm.len() / 1024
            );
            if let (true, Some(floor)) = (*lang == "Rust", &bare_floor) {
                // Machines of this kind drift by 2x within minutes: the ratio
                // comes from rounds that measure floor and host back to back.
                let mut ratios = Vec::new();
                for _ in 0..ROUNDS {
                    let (floor_p50, _, _) = floor.latency(calls / ROUNDS);
                    let (host_p50, _, _) = latency(&host, name, &mail, calls / ROUNDS).await;
                    ratios.push(host_p50.as_secs_f64() / floor_p50.as_secs_f64());
                }
                ratios.sort_by(f64::total_cmp);
                println!(
                    "{:<34} {:.2}× the bare floor's p50, median of {ROUNDS} back-to-back rounds (range {:.2}–{:.2}×; aim ≤ 1.5×)",
                    "  through the host",
                    ratios[ROUNDS / 2],
                    ratios[0],
                    ratios[ROUNDS - 1]
                );
            }
        }
        host.flush().await;

        // Restart: a new host over the same database and artifact cache.
        let t = Instant::now();
        let restarted = PluginHost::new(Some(desk.clone()), settings).expect("host");
        let loaded = restarted.preload().await.expect("preload");
        let (r, _) = restarted.filter_mail("spam-filter", mail.clone()).await.expect("loaded");
        r.expect("first call after restart");
        println!("\nrestart→first call (precompiled cache warm, {loaded} plugins): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

        if only_rust {
            return;
        }
        // The real server: a second start on the same data directory, bundled plugins included.
        let data = tempfile::tempdir().expect("temp");
        for round in ["first start (installs and compiles the bundled plugins)", "restart (precompiled cache warm)"] {
            let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
            let t = Instant::now();
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
                .arg(data.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start switchboard");
            let ready = loop {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break t.elapsed();
                }
                if t.elapsed() > Duration::from_secs(120) {
                    panic!("the server did not start");
                }
                std::thread::sleep(Duration::from_millis(2));
            };
            println!("switchboard serve {round}: listening with plugins ready after {:.0} ms", ready.as_secs_f64() * 1e3);
            let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    });
}
