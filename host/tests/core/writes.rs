//! Write transactions under concurrency, on every backend: on SQLite they
//! share commits (group commit), and each must still stand or fall alone —
//! a failed, rolled-back or dropped write leaves no trace and takes no
//! other write with it, and every acknowledged write is stored.

use std::sync::Arc;

use super::common::each_backend;
use switchboard::db::Db;

async fn make_table(db: &Db) {
    sqlx::query("CREATE TABLE write_probe (id BIGINT PRIMARY KEY, note TEXT NOT NULL)").execute(db.pool()).await.expect("create table");
}

async fn stored_ids(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM write_probe ORDER BY id").fetch_all(db.pool()).await.expect("read back")
}

/// What write `n` of the mix does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    Commit,
    RollBack,
    Drop,
    /// Inserts a duplicate key after its own row: the statement fails and the
    /// write gives up, rolling back its first row too.
    Fail,
}

fn fate(n: i64) -> Fate {
    match n % 4 {
        0 | 1 => Fate::Commit,
        2 => [Fate::RollBack, Fate::Drop, Fate::Fail][(n / 4 % 3) as usize],
        _ => Fate::Commit,
    }
}

async fn write(db: Arc<Db>, n: i64) -> Result<(), String> {
    let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
    sqlx::query("INSERT INTO write_probe (id, note) VALUES ($1, 'x')").bind(n).execute(&mut *tx.tx).await.map_err(|e| e.to_string())?;
    tokio::task::yield_now().await;
    match fate(n) {
        Fate::Commit => tx.commit().await.map_err(|e| e.to_string()),
        Fate::RollBack => tx.rollback().await.map_err(|e| e.to_string()),
        Fate::Drop => {
            drop(tx);
            Ok(())
        }
        Fate::Fail => {
            let dup = sqlx::query("INSERT INTO write_probe (id, note) VALUES ($1, 'again')").bind(n).execute(&mut *tx.tx).await;
            assert!(dup.is_err(), "a duplicate key must fail");
            Ok(()) // tx dropped here, after a failed statement
        }
    }
}

#[tokio::test]
async fn concurrent_writes_stand_or_fall_alone() {
    each_backend(|db| async move {
        let base = Arc::new(db.system.db().clone());
        make_table(&base).await;
        let tasks: Vec<_> = (0..400i64).map(|n| tokio::spawn(write(base.clone(), n))).collect();
        for (n, task) in tasks.into_iter().enumerate() {
            task.await.expect("task").unwrap_or_else(|e| panic!("{}: write {n}: {e}", db.name));
        }
        // A dropped write is tidied up in the background: the next write sees past it.
        let mut tx = base.begin_write().await.expect("begin");
        sqlx::query("INSERT INTO write_probe (id, note) VALUES (100000, 'last')").execute(&mut *tx.tx).await.expect("insert");
        tx.commit().await.expect("commit");
        let want: Vec<i64> = (0..400).filter(|&n| fate(n) == Fate::Commit).chain([100000]).collect();
        assert_eq!(stored_ids(&base).await, want, "{}: exactly the committed writes are stored", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn a_write_abandoned_while_its_commit_waits_is_still_committed_or_refused_never_half_done() {
    each_backend(|db| async move {
        let base = Arc::new(db.system.db().clone());
        make_table(&base).await;
        // Callers that stop waiting in the middle of commit: their writes may
        // or may not be stored, but nothing hangs and later writes go through.
        for n in 0..50i64 {
            let db2 = base.clone();
            let task = tokio::spawn(async move {
                let mut tx = db2.begin_write().await.expect("begin");
                sqlx::query("INSERT INTO write_probe (id, note) VALUES ($1, 'x')").bind(n).execute(&mut *tx.tx).await.expect("insert");
                tx.commit().await.expect("commit");
            });
            if n % 2 == 0 {
                task.abort();
            }
            let _ = task.await;
        }
        let mut tx = tokio::time::timeout(std::time::Duration::from_secs(10), base.begin_write())
            .await
            .unwrap_or_else(|_| panic!("{}: the writer is stuck after abandoned commits", db.name))
            .expect("begin");
        sqlx::query("INSERT INTO write_probe (id, note) VALUES (1000, 'after')").execute(&mut *tx.tx).await.expect("insert");
        tx.commit().await.expect("commit");
        let ids = stored_ids(&base).await;
        for n in (1..50).step_by(2) {
            assert!(ids.contains(&n), "{}: acknowledged write {n} is stored", db.name);
        }
        assert!(ids.contains(&1000));
        db
    })
    .await;
}
