//! Applies the SQL in `supabase/`: the local-only platform scaffolding on every start,
//! then each migration not yet recorded, in file-name order, recorded as the Supabase
//! CLI records them (`supabase_migrations.schema_migrations`).

use std::path::{Path, PathBuf};

use tokio_postgres::Client;

use crate::error::BackendError;

/// The SQL files in `dir` (`*.sql`), sorted by name.
pub fn sql_files(dir: &Path) -> Result<Vec<PathBuf>, BackendError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BackendError::Config(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    Ok(files)
}

/// Applies `supabase/local/*.sql`, then the pending `supabase/migrations/*.sql`.
/// Returns the versions applied now.
pub async fn apply(client: &mut Client, supabase_dir: &Path) -> Result<Vec<String>, BackendError> {
    for file in sql_files(&supabase_dir.join("local"))? {
        client.batch_execute(&std::fs::read_to_string(&file)?).await.map_err(|e| sql_error(&file, e))?;
    }
    let mut applied = Vec::new();
    for file in sql_files(&supabase_dir.join("migrations"))? {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let (version, name) = stem.split_once('_').unwrap_or((stem, ""));
        let done = client
            .query_opt("select 1 from supabase_migrations.schema_migrations where version = $1", &[&version])
            .await?
            .is_some();
        if done {
            continue;
        }
        let sql = std::fs::read_to_string(&file)?;
        let tx = client.transaction().await?;
        tx.batch_execute(&sql).await.map_err(|e| sql_error(&file, e))?;
        tx.execute(
            "insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, array[$3])",
            &[&version, &name, &sql],
        )
        .await?;
        tx.commit().await?;
        applied.push(version.to_string());
    }
    // PostgREST caches the schema; tell it to look again.
    client.batch_execute("notify pgrst, 'reload schema'").await?;
    Ok(applied)
}

fn sql_error(file: &Path, e: tokio_postgres::Error) -> BackendError {
    let detail = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
    BackendError::Process { what: format!("applying {}", file.display()), detail }
}
