//! API tokens: random secrets shown once, stored as sha256 hashes.
//!
//! A token carries 256 random bits, so a fast hash is enough: no password
//! hashing is needed to make guessing infeasible.

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::get_bool;
use crate::desk::error::Problems;
use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, AgentRole, Desk, DeskError};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRole {
    /// Everything; bound to an admin agent.
    Admin,
    /// Tickets in the agent's queues; bound to an agent.
    Agent,
    /// The customer's own tickets; bound to a customer user.
    Customer,
    /// Machine access, granted feature by feature.
    Integration,
}

impl TokenRole {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Admin => "admin",
            TokenRole::Agent => "agent",
            TokenRole::Customer => "customer",
            TokenRole::Integration => "integration",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<TokenRole> {
        [TokenRole::Admin, TokenRole::Agent, TokenRole::Customer, TokenRole::Integration].into_iter().find(|r| r.as_str() == s)
    }
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Unique name, to list and revoke it by.
    pub name: String,
    /// Role name.
    pub role: String,
    /// Agent login (admin, agent) or customer user login (customer).
    pub user: Option<String>,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// Token id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// First characters of the secret, to recognise it.
    pub prefix: String,
    /// Role.
    pub role: TokenRole,
    /// Bound user login.
    pub user: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Revoked at, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The hex sha256 of a token secret.
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    let random: String = rand::thread_rng().sample_iter(&Alphanumeric).take(43).map(char::from).collect();
    format!("sb_{random}")
}

const SELECT: &str = "SELECT t.id, t.name, t.prefix, t.role, t.created_at, t.revoked_at, COALESCE(a.login, c.login) AS user_login FROM api_tokens t LEFT JOIN agents a ON a.id = t.agent_id LEFT JOIN customer_users c ON c.id = t.customer_user_id";

fn token_from_row(row: &AnyRow) -> Result<TokenInfo, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        role: stored::parse("role", &role, TokenRole::parse, "a token role")?,
        user: row.try_get("user_login")?,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        revoked_at: stored::time_opt("revoked_at", row.try_get("revoked_at")?)?,
    })
}

/// Inserts a token inside a transaction and returns its secret.
pub(crate) async fn insert_token(
    conn: &mut AnyConnection,
    name: &str,
    role: TokenRole,
    agent_id: Option<i64>,
    customer_user_id: Option<i64>,
) -> Result<(i64, String), DeskError> {
    let secret = new_secret();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (name, token_hash, prefix, role, agent_id, customer_user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(name)
    .bind(hash_secret(&secret))
    .bind(&secret[..7])
    .bind(role.as_str())
    .bind(agent_id)
    .bind(customer_user_id)
    .bind(now_micros())
    .fetch_one(conn)
    .await
    .map_err(|e| DeskError::from_write(e, &format!("token '{name}'")))?;
    Ok((id, secret))
}

impl Desk {
    /// Creates a token and returns it with its secret (the only time the secret is seen).
    pub async fn token_create(&self, actor: &Actor, input: NewToken) -> Result<(TokenInfo, String), DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&input)?;
        let mut problems = Problems::default();
        if input.name.trim().is_empty() {
            problems.add("name", "must not be empty");
        }
        let role = TokenRole::parse(&input.role);
        if role.is_none() {
            problems.add("role", format!("unknown role '{}'; expected admin, agent, customer or integration", input.role));
        }
        let mut tx = self.db().begin_write().await?;
        let (mut agent_id, mut customer_id) = (None, None);
        match (role, &input.user) {
            (Some(TokenRole::Admin), None) => {
                agent_id = sqlx::query_scalar("SELECT id FROM agents WHERE login = 'admin'").fetch_optional(&mut *tx.tx).await?
            }
            (Some(TokenRole::Admin | TokenRole::Agent), Some(login)) => {
                let row = sqlx::query("SELECT id, role FROM agents WHERE login = $1").bind(login).fetch_optional(&mut *tx.tx).await?;
                match row {
                    None => problems.add("user", format!("unknown agent '{login}'")),
                    Some(row) => {
                        let agent_role: String = row.try_get(1)?;
                        if role == Some(TokenRole::Admin) && agent_role != "admin" {
                            problems.add("role", format!("agent '{login}' is not an admin; create an agent token"));
                        }
                        agent_id = Some(row.try_get(0)?);
                    }
                }
            }
            (Some(TokenRole::Agent), None) => problems.add("user", "an agent token needs --user LOGIN of an agent"),
            (Some(TokenRole::Customer), Some(login)) => {
                customer_id =
                    sqlx::query_scalar("SELECT id FROM customer_users WHERE login = $1").bind(login).fetch_optional(&mut *tx.tx).await?;
                if customer_id.is_none() {
                    problems.add("user", format!("unknown customer user '{login}'"));
                }
            }
            (Some(TokenRole::Customer), None) => problems.add("user", "a customer token needs --user LOGIN of a customer user"),
            (Some(TokenRole::Integration), Some(_)) => problems.add("user", "an integration token is not bound to a user"),
            _ => {}
        }
        problems.finish()?;
        let role = role.unwrap_or(TokenRole::Integration);
        let (id, secret) = insert_token(&mut tx.tx, input.name.trim(), role, agent_id, customer_id).await?;
        tx.commit().await?;
        let info = self
            .token_list(actor)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(DeskError::NotFound { what: "token", id: id.to_string() })?;
        Ok((info, secret))
    }

    /// Lists tokens (admin only).
    pub async fn token_list(&self, actor: &Actor) -> Result<Vec<TokenInfo>, DeskError> {
        actor.require_admin()?;
        let rows = sqlx::query(&format!("{SELECT} ORDER BY t.id")).fetch_all(self.db().pool()).await?;
        Ok(rows.iter().map(token_from_row).collect::<Result<_, _>>()?)
    }

    /// Revokes a token by name (admin only).
    pub async fn token_revoke(&self, actor: &Actor, name: &str) -> Result<(), DeskError> {
        actor.require_admin()?;
        crate::desk::input::check_text("name", name)?;
        let mut tx = self.db().begin_write().await?;
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now_micros())
            .bind(name)
            .execute(&mut *tx.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "active token", id: name.to_string() });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Resolves a presented secret to its token id and actor; `None` when the
    /// token is unknown, revoked, or its user is invalid.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<(i64, Actor)>, DeskError> {
        let row = sqlx::query(
            "SELECT t.id, t.name, t.role, t.agent_id, t.revoked_at, c.login AS customer_login, c.valid AS customer_valid, a.login AS agent_login, a.role AS agent_role, a.valid AS agent_valid FROM api_tokens t LEFT JOIN customer_users c ON c.id = t.customer_user_id LEFT JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = $1",
        )
        .bind(hash_secret(secret))
        .fetch_optional(self.db().pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            return Ok(None);
        }
        let id: i64 = row.try_get("id")?;
        let role: String = row.try_get("role")?;
        let role = stored::parse("role", &role, TokenRole::parse, "a token role")?;
        let actor = match role {
            TokenRole::Admin | TokenRole::Agent => {
                let Some(agent_id) = row.try_get::<Option<i64>, _>("agent_id")? else { return Ok(None) };
                let Some(login) = row.try_get::<Option<String>, _>("agent_login")? else { return Ok(None) };
                if !get_bool(&row, "agent_valid")? {
                    return Ok(None);
                }
                let agent_role = row.try_get::<Option<String>, _>("agent_role")?;
                let agent_role = agent_role.map(|r| stored::parse("agent_role", &r, AgentRole::parse, "an agent role")).transpose()?;
                let admin = role == TokenRole::Admin && agent_role == Some(AgentRole::Admin);
                let queues = if admin { Default::default() } else { self.agent_permissions(agent_id).await? };
                Actor::Agent(crate::desk::AgentActor { id: agent_id, login, admin, queues })
            }
            TokenRole::Customer => {
                let Some(login) = row.try_get::<Option<String>, _>("customer_login")? else { return Ok(None) };
                if !get_bool(&row, "customer_valid")? {
                    return Ok(None);
                }
                Actor::Customer { login }
            }
            TokenRole::Integration => Actor::Integration { name: row.try_get("name")? },
        };
        Ok(Some((id, actor)))
    }
}
