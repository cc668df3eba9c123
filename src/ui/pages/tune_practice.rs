//! The "Practice" section of a tune's page: per repertoire it is in, when it is next
//! due, its practice history (date, rating), and "Schedule for…" to set the next due
//! date once.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::domain::Uuid;
use tunebook_core::practice::view::TunePractice;
use tunebook_core::protocol::Request;
use tunebook_core::tables::TableId;

use crate::ui::context::use_app;
use crate::ui::db_client::DbClient;
use crate::ui::format::{local_date, local_date_time, parse_local_date};
use crate::ui::paths;

#[component]
pub fn TunePracticeSection(tune: Uuid, db: DbClient) -> impl IntoView {
    let app = use_app();
    let practice = RwSignal::new(None::<Vec<TunePractice>>);
    let load_error = RwSignal::new(None::<String>);
    let reload = RwSignal::new(0_u64);
    {
        let db = db.clone();
        Effect::new(move || {
            app.changes.track(&[TableId::Repertoire, TableId::RepertoireTune, TableId::PracticeRecord]);
            reload.track();
            let db = db.clone();
            spawn_local(async move {
                match db.tune_practice(tune).await {
                    Ok(p) => practice.set(Some(p)),
                    Err(e) => load_error.set(Some(e.to_string())),
                }
            });
        });
    }
    let body = move || {
        let list = practice.get()?;
        if list.is_empty() {
            return Some(
                view! {
                    <p class="empty">
                        "Not in a repertoire yet: add it to one on "
                        <a href=paths::href("/repertoires")>"Repertoires"</a>
                        " to practise it on a schedule."
                    </p>
                }
                .into_any(),
            );
        }
        Some(
            list.into_iter()
                .enumerate()
                .map(|(i, p)| view! { <RepertoirePractice practice=p index=i tune reload /> })
                .collect_view()
                .into_any(),
        )
    };
    view! {
        <section class="tune-practice" aria-labelledby="tune-practice-title">
            <h2 id="tune-practice-title">"Practice"</h2>
            {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {body}
        </section>
    }
}

#[component]
fn RepertoirePractice(
    practice: TunePractice,
    index: usize,
    tune: Uuid,
    reload: RwSignal<u64>,
) -> impl IntoView {
    let app = use_app();
    let repertoire = practice.repertoire_id;
    let date = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let input_id = format!("schedule-for-{index}");
    let error_id = format!("{input_id}-error");
    let due = match practice.due {
        Some(due) => format!("Next due: {}", local_date(due)),
        None => "New: not practised yet".to_string(),
    };
    let schedule = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(db) = app.db() else { return };
        let Some(due) = parse_local_date(&date.get_untracked()) else {
            error.set(Some("Choose a date.".into()));
            return;
        };
        spawn_local(async move {
            match db.run(Request::SchedulePractice { repertoire, tune, due }).await {
                Ok(()) => {
                    error.set(None);
                    reload.update(|v| *v += 1);
                    app.sync.soon(app);
                }
                Err(e) => error.set(Some(format!("Could not schedule: {e}"))),
            }
        });
    };
    let history = if practice.history.is_empty() {
        view! { <p class="empty">"No practice yet."</p> }.into_any()
    } else {
        view! {
            <ul class="practice-history" aria-label=format!("Practice history in {}", practice.repertoire_name)>
                {practice.history.iter().map(|h| view! {
                    <li>
                        <time>{local_date_time(tunebook_core::domain::Timestamp(h.at))}</time>
                        " — " {h.rating.label()}
                    </li>
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let described = error_id.clone();
    view! {
        <div class="repertoire-practice">
            <h3>{practice.repertoire_name.clone()}</h3>
            <p class="due">{due}</p>
            {history}
            <form class="schedule-for" on:submit=schedule novalidate=true>
                <div class="field" class:invalid=move || error.get().is_some()>
                    <label for=input_id.clone()>"Schedule for…"</label>
                    <input id=input_id type="date" prop:value=move || date.get()
                        on:input=move |ev| date.set(event_target_value(&ev))
                        aria-invalid=move || error.get().map(|_| "true")
                        aria-describedby=move || error.get().map(|_| described.clone()) />
                    <p class="field-error" id=error_id hidden=move || error.get().is_none()>{move || error.get()}</p>
                </div>
                <button type="submit">"Schedule"</button>
            </form>
        </div>
    }
}
