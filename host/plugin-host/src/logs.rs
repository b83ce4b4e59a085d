//! One invocation's log: the guest's `log` lines, its stdout and its stderr
//! share one cap (`limits.max_log_bytes`); every line is escaped onto one
//! line (`\n`, `\r`, `\t`, `\u{1b}`, …) before it is kept; and what is kept is
//! exactly what reaches tracing (the server's stderr), the invocation record
//! and the API. So a plugin can neither flood the server log nor forge a line
//! in it: past the cap, lines are dropped with one note.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tracing::{debug, error, info, trace, warn};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Where a line came from: a `log` level, or the guest's stdout or stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `log::write` at trace level.
    Trace,
    /// At debug level.
    Debug,
    /// At info level.
    Info,
    /// At warn level.
    Warn,
    /// At error level.
    Error,
    /// A line the guest wrote to stdout.
    Stdout,
    /// A line the guest wrote to stderr.
    Stderr,
}

impl Source {
    /// The label a kept line starts with.
    fn label(self) -> &'static str {
        match self {
            Source::Trace => "TRACE",
            Source::Debug => "DEBUG",
            Source::Info => "INFO",
            Source::Warn => "WARN",
            Source::Error => "ERROR",
            Source::Stdout => "[stdout]",
            Source::Stderr => "[stderr]",
        }
    }
}

/// Whether a character may not appear in a log line as it is: every control
/// character (C0, DEL, C1) and the Unicode line and paragraph separators.
fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `text` on one line: newline, CR and tab as `\n`, `\r`, `\t`, any other
/// control character as `\u{..}` (hex), so the text can never end a log line
/// or start another one.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The log of one invocation, shared by the `log` host function and the
/// guest's stdout and stderr streams (a cheap handle).
#[derive(Clone)]
pub(crate) struct LogSink {
    inner: Arc<Mutex<LogText>>,
}

/// What a [`LogSink`] holds.
struct LogText {
    /// The kept lines, each ending in `\n`.
    text: String,
    /// `max_log_bytes`: the most `text` may hold.
    cap: usize,
    /// Bytes of guest output dropped past the cap.
    dropped: usize,
    /// Unterminated output of stdout (0) and stderr (1), at most `cap` bytes each.
    partial: [Vec<u8>; 2],
    /// Plugin name and version, for the tracing fields.
    plugin: String,
    version: String,
}

impl LogSink {
    /// An empty log of at most `cap` bytes for `plugin`@`version`.
    pub(crate) fn new(cap: usize, plugin: &str, version: &str) -> LogSink {
        LogSink {
            inner: Arc::new(Mutex::new(LogText {
                text: String::new(),
                cap,
                dropped: 0,
                partial: [Vec::new(), Vec::new()],
                plugin: plugin.to_string(),
                version: version.to_string(),
            })),
        }
    }

    /// Keeps one escaped line and sends it to tracing, unless the cap is
    /// reached (then counts it as dropped; the first drop is said once).
    pub(crate) fn push(&self, source: Source, message: &str) {
        if let Ok(mut log) = self.inner.lock() {
            log.push(source, message);
        }
    }

    /// The guest's stdout (`stderr` false) or stderr as a WASI stream into this log.
    pub(crate) fn stream(&self, stderr: bool) -> GuestOutput {
        GuestOutput { sink: self.clone(), stderr }
    }

    /// Appends what the guest wrote to one of its streams; complete lines are kept at once.
    fn write(&self, stderr: bool, bytes: &[u8]) {
        let Ok(mut log) = self.inner.lock() else { return };
        let index = usize::from(stderr);
        let source = if stderr { Source::Stderr } else { Source::Stdout };
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let mut line = std::mem::take(&mut log.partial[index]);
            line.extend_from_slice(&rest[..end]);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            log.push(source, &String::from_utf8_lossy(&line));
            rest = &rest[end + 1..];
        }
        if log.partial[index].len() + rest.len() > log.cap.saturating_sub(log.text.len()) {
            // This line can never fit: drop it instead of holding it.
            let dropped = log.partial[index].len() + rest.len();
            log.partial[index].clear();
            log.drop_bytes(dropped);
        } else {
            log.partial[index].extend_from_slice(rest);
        }
    }

    /// The kept log, unterminated output included, with a note about what was dropped.
    pub(crate) fn finish(&self) -> String {
        let Ok(mut log) = self.inner.lock() else { return String::new() };
        for (index, source) in [(0, Source::Stdout), (1, Source::Stderr)] {
            let line = std::mem::take(&mut log.partial[index]);
            if !line.is_empty() {
                log.push(source, &String::from_utf8_lossy(&line));
            }
        }
        let mut text = std::mem::take(&mut log.text);
        if log.dropped > 0 {
            text.push_str(&format!("[{} more bytes of log dropped: max_log_bytes reached]\n", log.dropped));
        }
        text
    }
}

impl LogText {
    fn push(&mut self, source: Source, message: &str) {
        let shown = escape(message);
        let line_len = source.label().len() + shown.len() + 2;
        if self.text.len() + line_len > self.cap {
            self.drop_bytes(message.len());
            return;
        }
        self.text.push_str(source.label());
        self.text.push(' ');
        self.text.push_str(&shown);
        self.text.push('\n');
        let (plugin, version) = (self.plugin.as_str(), self.version.as_str());
        match source {
            Source::Trace => trace!(plugin, version, "{shown}"),
            Source::Debug => debug!(plugin, version, "{shown}"),
            Source::Info | Source::Stdout => info!(plugin, version, "{shown}"),
            Source::Warn | Source::Stderr => warn!(plugin, version, "{shown}"),
            Source::Error => error!(plugin, version, "{shown}"),
        }
    }

    /// Counts dropped output; the first drop of a call is said once in tracing.
    fn drop_bytes(&mut self, bytes: usize) {
        if self.dropped == 0 {
            warn!(plugin = %self.plugin, version = %self.version, "the plugin's log reached max_log_bytes ({} bytes): the rest of this call's log is dropped", self.cap);
        }
        self.dropped += bytes.max(1);
    }
}

/// The guest's stdout or stderr: every byte goes into the call's [`LogSink`]
/// (never an error, never blocking; past the cap it is dropped).
#[derive(Clone)]
pub(crate) struct GuestOutput {
    sink: LogSink,
    stderr: bool,
}

/// How much a guest may write in one go (it may always write again).
const WRITE_PERMIT: usize = 64 * 1024;

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.sink.write(self.stderr, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        self.sink.write(self.stderr, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_onto_one_line() {
        assert_eq!(escape("plain – text"), "plain – text");
        assert_eq!(escape("a\nADMIN TOKEN (shown once): x\r\n"), "a\\nADMIN TOKEN (shown once): x\\r\\n");
        assert_eq!(escape("\t\u{1b}[31m\u{7f}\u{85}\u{2028}"), "\\t\\u{1b}[31m\\u{7f}\\u{85}\\u{2028}");
    }

    #[test]
    fn log_lines_stdout_and_stderr_share_one_cap() {
        let sink = LogSink::new(100, "p", "1");
        sink.push(Source::Info, "forged\nADMIN TOKEN (shown once): x");
        sink.write(false, b"out one\nout ");
        sink.write(true, b"err\r\n");
        sink.write(false, b"two\n");
        sink.write(false, &[b'y'; 500]);
        sink.push(Source::Warn, &"z".repeat(80));
        let text = sink.finish();
        assert_eq!(
            text,
            "INFO forged\\nADMIN TOKEN (shown once): x\n[stdout] out one\n[stderr] err\n[stdout] out two\n[580 more bytes of log dropped: max_log_bytes reached]\n"
        );
        assert!(text.lines().all(|l| !l.starts_with("ADMIN")), "no line is forged");
    }

    #[test]
    fn unterminated_output_is_kept_at_the_end() {
        let sink = LogSink::new(1000, "p", "1");
        sink.write(true, b"panicked at src/lib.rs");
        assert_eq!(sink.finish(), "[stderr] panicked at src/lib.rs\n");
    }

    /// A `MakeWriter` into a shared buffer: what the server's stderr would show.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn tracing_gets_the_same_capped_escaped_lines() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_max_level(tracing::Level::TRACE).finish();
        let kept = tracing::subscriber::with_default(subscriber, || {
            let sink = LogSink::new(4096, "forger", "1.0.0");
            sink.push(Source::Info, "fine\nADMIN TOKEN (shown once): sb_forged");
            sink.write(false, b"out\r\nADMIN TOKEN (shown once): sb_stdout\n");
            for _ in 0..10_000 {
                sink.push(Source::Info, &"x".repeat(1000));
            }
            sink.finish()
        });
        let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(text.len() < 2 * 4096 + 2048, "10 MB of log became {} bytes of server log", text.len());
        assert!(!text.lines().any(|l| l.starts_with("ADMIN")), "no forged server log line:\n{text}");
        assert!(text.contains("fine\\nADMIN TOKEN"), "the line is there, escaped:\n{text}");
        assert_eq!(text.matches("reached max_log_bytes").count(), 1, "one note about the drop:\n{text}");
        let logged = text.lines().filter(|l| l.contains("forger")).count();
        assert_eq!(logged, kept.lines().count(), "each kept line, and the note, reached tracing once:\n{text}");
    }
}
