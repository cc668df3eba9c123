//! Whether a token may read (join) or write (broadcast to) a private channel, decided as
//! hosted Realtime decides it: by the project's row level security on `realtime.messages`.
//! In a transaction that is always rolled back, a probe message for the topic is inserted
//! as the database owner, the role, claims and `realtime.topic` are set as PostgREST would
//! set them, and the message is read back (read) or inserted again (write) as that role.

use serde_json::Value;

use crate::pool::Pool;

/// What the policies allow a token on a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Whether `claims` (a verified JWT's) may `access` the private channel `topic`.
pub async fn allowed(
    pool: &Pool,
    topic: &str,
    claims: &Value,
    access: Access,
) -> Result<bool, tokio_postgres::Error> {
    let role = claims.get("role").and_then(Value::as_str).unwrap_or("anon");
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or_default();
    let claims_text = claims.to_string();
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let probe: String = transaction
        .query_one(
            "insert into realtime.messages (topic, extension, private) values ($1, 'broadcast', true)
             returning id::text",
            &[&topic],
        )
        .await?
        .get(0);
    transaction
        .execute(
            "select set_config('role', $1, true), set_config('realtime.topic', $2, true),
                    set_config('request.jwt.claims', $3, true), set_config('request.jwt.claim.sub', $4, true),
                    set_config('request.jwt.claim.role', $1, true)",
            &[&role, &topic, &claims_text, &sub],
        )
        .await?;
    let allowed = match access {
        Access::Read => transaction
            .query_opt("select 1 from realtime.messages where id = $1::text::uuid", &[&probe])
            .await?
            .is_some(),
        Access::Write => {
            let insert = transaction
                .execute(
                    "insert into realtime.messages (topic, extension, private) values ($1, 'broadcast', true)",
                    &[&topic],
                )
                .await;
            match insert {
                Ok(_) => true,
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => false,
                Err(e) => return Err(e),
            }
        }
    };
    transaction.rollback().await?;
    Ok(allowed)
}
