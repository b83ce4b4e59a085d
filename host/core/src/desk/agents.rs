//! Agents (staff users), their roles and per-queue permissions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use crate::db::{get_bool, Arg, Backend, Sql};
use crate::desk::error::Problems;
use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, AgentActor, Desk, DeskError, QueuePermission};

/// An agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRole {
    /// Configures the system; sees and changes every queue.
    Admin,
    /// Works tickets in the queues granted to it.
    Agent,
}

impl AgentRole {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Admin => "admin",
            AgentRole::Agent => "agent",
        }
    }

    /// Parses `admin` or `agent`.
    pub fn parse(s: &str) -> Option<AgentRole> {
        match s {
            "admin" => Some(AgentRole::Admin),
            "agent" => Some(AgentRole::Agent),
            _ => None,
        }
    }
}

/// A queue permission granted to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGrant {
    /// Queue name.
    pub queue: String,
    /// Access level.
    pub permission: QueuePermission,
}

/// A staff user.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Row id.
    pub id: i64,
    /// Unique login.
    pub login: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Mail address.
    pub email: String,
    /// Role.
    pub role: AgentRole,
    /// Invalid agents cannot log in or be assigned.
    pub valid: bool,
    /// Queue permissions.
    pub permissions: Vec<QueueGrant>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
}

/// What `agent_promote` did: the agent now, and what it was before.
#[derive(Debug, Clone)]
pub struct AgentPromotion {
    /// The agent after the promotion (a valid admin).
    pub agent: Agent,
    /// Its role before (`None`: a stored role that was neither admin nor agent).
    pub was_role: Option<AgentRole>,
    /// Its valid flag before.
    pub was_valid: bool,
}

/// Fields to create an agent.
#[derive(Debug, Clone, Default)]
pub struct AgentInput {
    /// Unique login.
    pub login: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Mail address.
    pub email: Option<String>,
    /// `admin` or `agent`.
    pub role: String,
    /// Valid flag (default true).
    pub valid: Option<bool>,
    /// Queue permissions as (queue name, `ro`/`rw`).
    pub permissions: Option<Vec<(String, String)>>,
}

/// Fields to change; `None` keeps the current value. Permissions, when given,
/// replace the whole set.
#[derive(Debug, Clone, Default)]
pub struct AgentUpdate {
    /// New login.
    pub login: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New mail address.
    pub email: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New valid flag.
    pub valid: Option<bool>,
    /// New permission set.
    pub permissions: Option<Vec<(String, String)>>,
}

fn agent_from_row(row: &AnyRow) -> Result<Agent, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Agent {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        email: row.try_get("email")?,
        role: stored::parse("role", &role, AgentRole::parse, "an agent role")?,
        valid: get_bool(row, "valid")?,
        permissions: Vec::new(),
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        changed_at: stored::time("changed_at", row.try_get("changed_at")?)?,
    })
}

const SELECT: &str = "SELECT id, login, first_name, last_name, email, role, valid, created_at, changed_at FROM agents";

impl Desk {
    /// Lists agents (staff only).
    pub async fn agent_list(&self, actor: &Actor) -> Result<Vec<Agent>, DeskError> {
        actor.require_staff()?;
        let rows = sqlx::query(&format!("{SELECT} ORDER BY id")).fetch_all(self.db().pool()).await?;
        let mut agents: Vec<Agent> = rows.iter().map(agent_from_row).collect::<Result<_, _>>()?;
        let grants = sqlx::query(
            "SELECT p.agent_id, q.name, p.permission FROM agent_queue_permissions p JOIN queues q ON q.id = p.queue_id ORDER BY q.name",
        )
        .fetch_all(self.db().pool())
        .await?;
        let mut by_agent: HashMap<i64, Vec<QueueGrant>> = HashMap::new();
        for row in grants {
            let perm: String = row.try_get(2)?;
            by_agent.entry(row.try_get(0)?).or_default().push(QueueGrant {
                queue: row.try_get(1)?,
                permission: stored::parse("permission", &perm, QueuePermission::parse, "a queue permission")?,
            });
        }
        for agent in &mut agents {
            agent.permissions = by_agent.remove(&agent.id).unwrap_or_default();
        }
        Ok(agents)
    }

    /// Reads one agent (staff only).
    pub async fn agent_get(&self, actor: &Actor, id: i64) -> Result<Agent, DeskError> {
        actor.require_staff()?;
        let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(DeskError::NotFound { what: "agent", id: id.to_string() })?;
        let mut agent = agent_from_row(&row)?;
        let grants = sqlx::query(
            "SELECT q.name, p.permission FROM agent_queue_permissions p JOIN queues q ON q.id = p.queue_id WHERE p.agent_id = $1 ORDER BY q.name",
        )
        .bind(id)
        .fetch_all(self.db().pool())
        .await?;
        for row in grants {
            let perm: String = row.try_get(1)?;
            agent.permissions.push(QueueGrant {
                queue: row.try_get(0)?,
                permission: stored::parse("permission", &perm, QueuePermission::parse, "a queue permission")?,
            });
        }
        Ok(agent)
    }

    /// Creates an agent (admin only).
    pub async fn agent_create(&self, actor: &Actor, input: AgentInput) -> Result<Agent, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&input)?;
        let mut problems = Problems::default();
        check_login(&mut problems, &input.login);
        let role = AgentRole::parse(&input.role);
        if role.is_none() {
            problems.add("role", format!("unknown role '{}'; expected admin or agent", input.role));
        }
        let mut tx = self.db().begin_write().await?;
        let grants = match &input.permissions {
            Some(p) => resolve_grants(&mut tx.tx, p, &mut problems).await?,
            None => Vec::new(),
        };
        problems.finish()?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO agents (login, first_name, last_name, email, role, valid, created_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(input.login.trim())
        .bind(input.first_name.unwrap_or_default())
        .bind(input.last_name.unwrap_or_default())
        .bind(input.email.unwrap_or_default())
        .bind(role.unwrap_or(AgentRole::Agent).as_str())
        .bind(input.valid.unwrap_or(true))
        .bind(now)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(|e| DeskError::from_write(e, &format!("agent '{}'", input.login.trim())))?;
        let id: i64 = row.try_get(0)?;
        write_grants(&mut tx.tx, id, &grants).await?;
        self.commit_catalog_change(tx).await?;
        self.agent_get(&Actor::System, id).await
    }

    /// Changes an agent (admin only).
    pub async fn agent_update(&self, actor: &Actor, id: i64, update: AgentUpdate) -> Result<Agent, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&update)?;
        let mut problems = Problems::default();
        if let Some(login) = &update.login {
            check_login(&mut problems, login);
        }
        if let Some(role) = &update.role {
            if AgentRole::parse(role).is_none() {
                problems.add("role", format!("unknown role '{role}'; expected admin or agent"));
            }
        }
        let mut tx = self.db().begin_write().await?;
        let grants = match &update.permissions {
            Some(p) => Some(resolve_grants(&mut tx.tx, p, &mut problems).await?),
            None => None,
        };
        problems.finish()?;
        let touches_admins = update.role.is_some() || update.valid.is_some();
        if touches_admins {
            lock_admins(&mut tx.tx, self.db().backend()).await?;
        }
        let mut sql = Sql::new("UPDATE agents SET changed_at = ");
        sql.bind(Arg::Int(now_micros()));
        for (column, value) in [
            ("login", update.login.map(|l| l.trim().to_string())),
            ("first_name", update.first_name),
            ("last_name", update.last_name),
            ("email", update.email),
            ("role", update.role),
        ] {
            if let Some(value) = value {
                sql.push(&format!(", {column} = ")).bind(Arg::Text(value));
            }
        }
        if let Some(valid) = update.valid {
            sql.push(", valid = ").bind(Arg::Bool(valid));
        }
        sql.push(" WHERE id = ").bind(Arg::Int(id));
        let done = sql.query().execute(&mut *tx.tx).await.map_err(|e| DeskError::from_write(e, "agent login"))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "agent", id: id.to_string() });
        }
        if let Some(grants) = grants {
            sqlx::query("DELETE FROM agent_queue_permissions WHERE agent_id = $1").bind(id).execute(&mut *tx.tx).await?;
            write_grants(&mut tx.tx, id, &grants).await?;
        }
        if touches_admins {
            require_an_admin(&mut tx.tx, "demoting or invalidating").await?;
        }
        self.commit_catalog_change(tx).await?;
        self.agent_get(&Actor::System, id).await
    }

    /// Deletes an agent that owns no tickets (admin only); otherwise 409 —
    /// set it invalid instead.
    pub async fn agent_delete(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        actor.require_admin()?;
        if actor.agent_id() == Some(id) {
            return Err(DeskError::Conflict("an admin cannot delete itself".into()));
        }
        let mut tx = self.db().begin_write().await?;
        lock_admins(&mut tx.tx, self.db().backend()).await?;
        let done = sqlx::query("DELETE FROM agents WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, &format!("agent {id}")))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "agent", id: id.to_string() });
        }
        require_an_admin(&mut tx.tx, "deleting").await?;
        self.commit_catalog_change(tx).await?;
        Ok(())
    }

    /// Makes the agent `login` a valid admin (admin only; the recovery path of
    /// `switchboard agent promote`, which acts as the system on the database
    /// directly). Its admin tokens work again at once.
    pub async fn agent_promote(&self, actor: &Actor, login: &str) -> Result<AgentPromotion, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check_text("login", login)?;
        let mut tx = self.db().begin_write().await?;
        let row = sqlx::query("SELECT id, role, valid FROM agents WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx.tx)
            .await?
            .ok_or_else(|| DeskError::NotFound { what: "agent", id: login.to_string() })?;
        let id: i64 = row.try_get("id")?;
        let role: String = row.try_get("role")?;
        // Lenient on purpose: recovery also repairs a role that SQL set to anything else.
        let was_role = AgentRole::parse(&role);
        let was_valid = get_bool(&row, "valid")?;
        if was_role != Some(AgentRole::Admin) || !was_valid {
            sqlx::query("UPDATE agents SET role = $1, valid = $2, changed_at = $3 WHERE id = $4")
                .bind(AgentRole::Admin.as_str())
                .bind(true)
                .bind(now_micros())
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
        }
        self.commit_catalog_change(tx).await?;
        Ok(AgentPromotion { agent: self.agent_get(&Actor::System, id).await?, was_role, was_valid })
    }

    /// Loads the actor for an agent id (role and queue permissions).
    pub async fn agent_actor(&self, id: i64) -> Result<Option<AgentActor>, DeskError> {
        let Some(row) =
            sqlx::query("SELECT login, role, valid FROM agents WHERE id = $1").bind(id).fetch_optional(self.db().pool()).await?
        else {
            return Ok(None);
        };
        if !get_bool(&row, "valid")? {
            return Ok(None);
        }
        let role: String = row.try_get("role")?;
        let queues = self.agent_permissions(id).await?;
        Ok(Some(AgentActor { id, login: row.try_get("login")?, admin: role == "admin", queues }))
    }

    /// An agent's queue permissions.
    pub(crate) async fn agent_permissions(&self, id: i64) -> Result<HashMap<i64, QueuePermission>, DeskError> {
        let mut queues = HashMap::new();
        let grants = sqlx::query("SELECT queue_id, permission FROM agent_queue_permissions WHERE agent_id = $1")
            .bind(id)
            .fetch_all(self.db().pool())
            .await?;
        for g in grants {
            let perm: String = g.try_get(1)?;
            queues.insert(g.try_get(0)?, stored::parse("permission", &perm, QueuePermission::parse, "a queue permission")?);
        }
        Ok(queues)
    }
}

/// PostgreSQL: locks the rows of the valid admins, so two transactions that
/// each demote a different admin cannot both see the other one still there
/// (the second waits, then counts afresh). SQLite has one writer already.
async fn lock_admins(conn: &mut sqlx::AnyConnection, backend: Backend) -> Result<(), DeskError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM agents WHERE role = 'admin' AND valid = TRUE ORDER BY id FOR UPDATE").fetch_all(&mut *conn).await?;
    }
    Ok(())
}

/// Refuses (409) a change that would leave no valid admin: nobody could
/// configure the system any more and every admin token would stop working.
async fn require_an_admin(conn: &mut sqlx::AnyConnection, doing: &str) -> Result<(), DeskError> {
    let admins: i64 = sqlx::query_scalar::<Any, i64>("SELECT COUNT(*) FROM agents WHERE role = $1 AND valid = $2")
        .bind(AgentRole::Admin.as_str())
        .bind(true)
        .fetch_one(&mut *conn)
        .await?;
    if admins == 0 {
        return Err(DeskError::Conflict(format!("{doing} this agent would leave no valid admin; make another agent an admin first")));
    }
    Ok(())
}

fn check_login(problems: &mut Problems, login: &str) {
    if login.trim().is_empty() {
        problems.add("login", "must not be empty");
    } else if login.chars().count() > 200 {
        problems.add("login", "must be at most 200 characters");
    }
}

async fn resolve_grants(
    conn: &mut sqlx::AnyConnection,
    wanted: &[(String, String)],
    problems: &mut Problems,
) -> Result<Vec<(i64, QueuePermission)>, DeskError> {
    let mut out = Vec::new();
    for (i, (queue, perm)) in wanted.iter().enumerate() {
        let id: Option<i64> =
            sqlx::query_scalar::<Any, i64>("SELECT id FROM queues WHERE name = $1").bind(queue).fetch_optional(&mut *conn).await?;
        match id {
            None => problems.add(format!("permissions[{i}].queue"), format!("unknown queue '{queue}'")),
            Some(id) => match QueuePermission::parse(perm) {
                Some(p) => out.push((id, p)),
                None => problems.add(format!("permissions[{i}].permission"), format!("unknown permission '{perm}'; expected ro or rw")),
            },
        }
    }
    Ok(out)
}

async fn write_grants(conn: &mut sqlx::AnyConnection, agent_id: i64, grants: &[(i64, QueuePermission)]) -> Result<(), DeskError> {
    for (queue_id, perm) in grants {
        sqlx::query(
            "INSERT INTO agent_queue_permissions (agent_id, queue_id, permission) VALUES ($1, $2, $3) ON CONFLICT (agent_id, queue_id) DO UPDATE SET permission = excluded.permission",
        )
        .bind(agent_id)
        .bind(*queue_id)
        .bind(perm.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
