//! A small SQL builder that numbers `$n` placeholders for both backends.
//!
//! sqlx's `QueryBuilder<Any>` emits `?`, which PostgreSQL rejects; this one
//! emits `$1, $2, …`, which SQLite and PostgreSQL both accept.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// One bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A 64-bit integer.
    Int(i64),
    /// A boolean (BOOLEAN on PostgreSQL, 0/1 on SQLite).
    Bool(bool),
    /// Text.
    Text(String),
    /// An optional integer.
    OptInt(Option<i64>),
    /// Optional text.
    OptText(Option<String>),
}

/// A statement under construction: SQL text plus its arguments.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Starts a statement.
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), args: Vec::new() }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `(p1, p2, …)`, one placeholder per argument (for `IN`; the
    /// caller makes sure there is at least one: `IN ()` is not SQL).
    pub fn bind_list(&mut self, args: impl IntoIterator<Item = Arg>) -> &mut Self {
        self.text.push('(');
        for (i, arg) in args.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(arg);
        }
        self.text.push(')');
        self
    }

    /// The SQL text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Builds the sqlx query with every argument bound.
    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text);
        for arg in &self.args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Bool(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::OptInt(v) => query.bind(*v),
                Arg::OptText(v) => query.bind(v.as_deref()),
            };
        }
        query
    }
}
