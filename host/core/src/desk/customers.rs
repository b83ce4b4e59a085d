//! Customer companies (organisations) and customer users.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use crate::db::{get_bool, Arg, Sql};
use crate::desk::error::Problems;
use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, Desk, DeskError};

/// A customer company (organisation).
#[derive(Debug, Clone)]
pub struct Company {
    /// Row id.
    pub id: i64,
    /// Unique customer id, the key tickets refer to.
    pub customer_id: String,
    /// Display name.
    pub name: String,
    /// Street address.
    pub street: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// Web site.
    pub url: String,
    /// Comment.
    pub comment: String,
    /// Valid flag.
    pub valid: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
}

/// Fields to create a company.
#[derive(Debug, Clone, Default)]
pub struct CompanyInput {
    /// Unique customer id.
    pub customer_id: String,
    /// Display name.
    pub name: String,
    /// Street.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Web site.
    pub url: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Valid flag.
    pub valid: Option<bool>,
}

/// Fields to change a company; `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct CompanyUpdate {
    /// New customer id.
    pub customer_id: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New street.
    pub street: Option<String>,
    /// New city.
    pub city: Option<String>,
    /// New country.
    pub country: Option<String>,
    /// New web site.
    pub url: Option<String>,
    /// New comment.
    pub comment: Option<String>,
    /// New valid flag.
    pub valid: Option<bool>,
}

/// A customer user (someone who asks for help).
#[derive(Debug, Clone)]
pub struct CustomerUser {
    /// Row id.
    pub id: i64,
    /// Unique login (often the mail address).
    pub login: String,
    /// Mail address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Phone number.
    pub phone: String,
    /// The company's customer id, if the user belongs to one.
    pub customer_company: Option<String>,
    /// Valid flag.
    pub valid: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
}

/// Fields to create a customer user.
#[derive(Debug, Clone, Default)]
pub struct CustomerUserInput {
    /// Unique login.
    pub login: String,
    /// Mail address.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Company customer id.
    pub customer_company: Option<String>,
    /// Valid flag.
    pub valid: Option<bool>,
}

/// Fields to change a customer user; `None` keeps a value, `Some(None)` clears the company.
#[derive(Debug, Clone, Default)]
pub struct CustomerUserUpdate {
    /// New login.
    pub login: Option<String>,
    /// New mail address.
    pub email: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New phone number.
    pub phone: Option<String>,
    /// New company (or none).
    pub customer_company: Option<Option<String>>,
    /// New valid flag.
    pub valid: Option<bool>,
}

const COMPANY_SELECT: &str =
    "SELECT id, customer_id, name, street, city, country, url, comment, valid, created_at, changed_at FROM customer_companies";
const USER_SELECT: &str = "SELECT u.id, u.login, u.email, u.first_name, u.last_name, u.phone, c.customer_id AS company, u.valid, u.created_at, u.changed_at FROM customer_users u LEFT JOIN customer_companies c ON c.id = u.customer_company_id";

fn company_from_row(row: &AnyRow) -> Result<Company, sqlx::Error> {
    Ok(Company {
        id: row.try_get("id")?,
        customer_id: row.try_get("customer_id")?,
        name: row.try_get("name")?,
        street: row.try_get("street")?,
        city: row.try_get("city")?,
        country: row.try_get("country")?,
        url: row.try_get("url")?,
        comment: row.try_get("comment")?,
        valid: get_bool(row, "valid")?,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        changed_at: stored::time("changed_at", row.try_get("changed_at")?)?,
    })
}

fn user_from_row(row: &AnyRow) -> Result<CustomerUser, sqlx::Error> {
    Ok(CustomerUser {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        phone: row.try_get("phone")?,
        customer_company: row.try_get("company")?,
        valid: get_bool(row, "valid")?,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        changed_at: stored::time("changed_at", row.try_get("changed_at")?)?,
    })
}

fn required(problems: &mut Problems, field: &str, value: &str) {
    if value.trim().is_empty() {
        problems.add(field, "must not be empty");
    } else if value.chars().count() > 250 {
        problems.add(field, "must be at most 250 characters");
    }
}

fn check_email(problems: &mut Problems, email: &str) {
    let email = email.trim();
    let ok = email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !email.contains(char::is_whitespace));
    if !ok {
        problems.add("email", format!("'{email}' is not a mail address"));
    }
}

async fn company_id(conn: &mut sqlx::AnyConnection, customer_id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar::<Any, i64>("SELECT id FROM customer_companies WHERE customer_id = $1").bind(customer_id).fetch_optional(conn).await
}

impl Desk {
    /// Lists companies (staff only).
    pub async fn company_list(&self, actor: &Actor) -> Result<Vec<Company>, DeskError> {
        actor.require_staff()?;
        let rows = sqlx::query(&format!("{COMPANY_SELECT} ORDER BY id")).fetch_all(self.db().pool()).await?;
        Ok(rows.iter().map(company_from_row).collect::<Result<_, _>>()?)
    }

    /// Reads one company (staff only).
    pub async fn company_get(&self, actor: &Actor, id: i64) -> Result<Company, DeskError> {
        actor.require_staff()?;
        let row = sqlx::query(&format!("{COMPANY_SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(DeskError::NotFound { what: "customer company", id: id.to_string() })?;
        Ok(company_from_row(&row)?)
    }

    /// Creates a company (admin only).
    pub async fn company_create(&self, actor: &Actor, input: CompanyInput) -> Result<Company, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&input)?;
        let mut problems = Problems::default();
        required(&mut problems, "customer_id", &input.customer_id);
        required(&mut problems, "name", &input.name);
        problems.finish()?;
        let now = now_micros();
        let mut tx = self.db().begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO customer_companies (customer_id, name, street, city, country, url, comment, valid, created_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(input.customer_id.trim())
        .bind(input.name.trim())
        .bind(input.street.unwrap_or_default())
        .bind(input.city.unwrap_or_default())
        .bind(input.country.unwrap_or_default())
        .bind(input.url.unwrap_or_default())
        .bind(input.comment.unwrap_or_default())
        .bind(input.valid.unwrap_or(true))
        .bind(now)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(|e| DeskError::from_write(e, &format!("customer company '{}'", input.customer_id.trim())))?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        self.company_get(&Actor::System, id).await
    }

    /// Changes a company (admin only).
    pub async fn company_update(&self, actor: &Actor, id: i64, update: CompanyUpdate) -> Result<Company, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&update)?;
        let mut problems = Problems::default();
        if let Some(v) = &update.customer_id {
            required(&mut problems, "customer_id", v);
        }
        if let Some(v) = &update.name {
            required(&mut problems, "name", v);
        }
        problems.finish()?;
        let mut sql = Sql::new("UPDATE customer_companies SET changed_at = ");
        sql.bind(Arg::Int(now_micros()));
        for (column, value) in [
            ("customer_id", update.customer_id.map(|v| v.trim().to_string())),
            ("name", update.name),
            ("street", update.street),
            ("city", update.city),
            ("country", update.country),
            ("url", update.url),
            ("comment", update.comment),
        ] {
            if let Some(value) = value {
                sql.push(&format!(", {column} = ")).bind(Arg::Text(value));
            }
        }
        if let Some(valid) = update.valid {
            sql.push(", valid = ").bind(Arg::Bool(valid));
        }
        sql.push(" WHERE id = ").bind(Arg::Int(id));
        let mut tx = self.db().begin_write().await?;
        let done = sql.query().execute(&mut *tx.tx).await.map_err(|e| DeskError::from_write(e, "customer company"))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "customer company", id: id.to_string() });
        }
        tx.commit().await?;
        self.company_get(&Actor::System, id).await
    }

    /// Deletes a company no customer user belongs to (admin only).
    pub async fn company_delete(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        let done = sqlx::query("DELETE FROM customer_companies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, &format!("customer company {id}")))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "customer company", id: id.to_string() });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Lists customer users (staff only).
    pub async fn customer_user_list(&self, actor: &Actor) -> Result<Vec<CustomerUser>, DeskError> {
        actor.require_staff()?;
        let rows = sqlx::query(&format!("{USER_SELECT} ORDER BY u.id")).fetch_all(self.db().pool()).await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    /// Reads one customer user (staff only).
    pub async fn customer_user_get(&self, actor: &Actor, id: i64) -> Result<CustomerUser, DeskError> {
        actor.require_staff()?;
        let row = sqlx::query(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(DeskError::NotFound { what: "customer user", id: id.to_string() })?;
        Ok(user_from_row(&row)?)
    }

    /// Creates a customer user (admin only).
    pub async fn customer_user_create(&self, actor: &Actor, input: CustomerUserInput) -> Result<CustomerUser, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&input)?;
        let mut problems = Problems::default();
        required(&mut problems, "login", &input.login);
        check_email(&mut problems, &input.email);
        let mut tx = self.db().begin_write().await?;
        let company = match &input.customer_company {
            Some(c) => {
                let id = company_id(&mut tx.tx, c).await?;
                if id.is_none() {
                    problems.add("customer_company", format!("unknown customer company '{c}'"));
                }
                id
            }
            None => None,
        };
        problems.finish()?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO customer_users (login, email, first_name, last_name, phone, customer_company_id, valid, created_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(input.login.trim())
        .bind(input.email.trim())
        .bind(input.first_name.unwrap_or_default())
        .bind(input.last_name.unwrap_or_default())
        .bind(input.phone.unwrap_or_default())
        .bind(company)
        .bind(input.valid.unwrap_or(true))
        .bind(now)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(|e| DeskError::from_write(e, &format!("customer user '{}'", input.login.trim())))?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        self.customer_user_get(&Actor::System, id).await
    }

    /// Changes a customer user (admin only).
    pub async fn customer_user_update(&self, actor: &Actor, id: i64, update: CustomerUserUpdate) -> Result<CustomerUser, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&update)?;
        let mut problems = Problems::default();
        if let Some(v) = &update.login {
            required(&mut problems, "login", v);
        }
        if let Some(v) = &update.email {
            check_email(&mut problems, v);
        }
        let mut tx = self.db().begin_write().await?;
        let company = match &update.customer_company {
            Some(Some(c)) => {
                let id = company_id(&mut tx.tx, c).await?;
                if id.is_none() {
                    problems.add("customer_company", format!("unknown customer company '{c}'"));
                }
                Some(id)
            }
            Some(None) => Some(None),
            None => None,
        };
        problems.finish()?;
        let mut sql = Sql::new("UPDATE customer_users SET changed_at = ");
        sql.bind(Arg::Int(now_micros()));
        for (column, value) in [
            ("login", update.login.map(|v| v.trim().to_string())),
            ("email", update.email.map(|v| v.trim().to_string())),
            ("first_name", update.first_name),
            ("last_name", update.last_name),
            ("phone", update.phone),
        ] {
            if let Some(value) = value {
                sql.push(&format!(", {column} = ")).bind(Arg::Text(value));
            }
        }
        if let Some(company) = company {
            sql.push(", customer_company_id = ").bind(Arg::OptInt(company));
        }
        if let Some(valid) = update.valid {
            sql.push(", valid = ").bind(Arg::Bool(valid));
        }
        sql.push(" WHERE id = ").bind(Arg::Int(id));
        let done = sql.query().execute(&mut *tx.tx).await.map_err(|e| DeskError::from_write(e, "customer user login"))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "customer user", id: id.to_string() });
        }
        tx.commit().await?;
        self.customer_user_get(&Actor::System, id).await
    }

    /// Deletes a customer user (admin only); its tickets keep the login.
    pub async fn customer_user_delete(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        let done = sqlx::query("DELETE FROM customer_users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, &format!("customer user {id}")))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: "customer user", id: id.to_string() });
        }
        tx.commit().await?;
        Ok(())
    }
}
