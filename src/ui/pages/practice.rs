//! Practice (`/practice`): pick a repertoire (remembered), then today's queue one tune
//! at a time. "Again", "Hard", "Good", "Easy" (also keys 1–4) each say when the tune
//! would come back; "Undo" takes back the last rating, "Skip" leaves a tune for later
//! today; the end shows a summary. The repertoire's practice settings sit beneath.
//!
//! A rating shows the next card at once and is stored meanwhile; a failed store puts
//! the card back with the message.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::{InputError, Repertoire};
use tunebook_core::practice::view::{Card, PracticeDay};
use tunebook_core::practice::{Rating, SettingsDraft};
use tunebook_core::protocol::Request;
use tunebook_core::tables::TableId;
use tunebook_core::text::{comes_back_in, practised_of, tunes};

use super::{Load, LoadFailed};
use crate::ui::context::use_app;
use crate::ui::form::{LabeledInput, input_failure};
use crate::ui::format::set_page_title;
use crate::ui::notation::Notation;
use crate::ui::{paths, storage};

/// The localStorage key of the repertoire last practised (shared with Progress).
pub const REMEMBERED: &str = "tunebook.practice_repertoire";

/// A rating stored in this session, for Undo.
#[derive(Clone)]
struct Done {
    card: Card,
    record: Uuid,
}

/// The repertoire picker both practice pages open with: every repertoire, the
/// remembered one chosen (or the first).
#[component]
pub fn RepertoirePicker(selected: RwSignal<Option<Uuid>>) -> impl IntoView {
    let app = use_app();
    let list: RwSignal<Load<Vec<Repertoire>>> = RwSignal::new(Load::Loading);
    Effect::new(move || {
        app.changes.track(&[TableId::Repertoire]);
        if let Some(db) = app.db() {
            spawn_local(async move {
                match db.repertoires().await {
                    Ok(l) => {
                        let remembered =
                            storage::load::<Uuid>(REMEMBERED).filter(|id| l.iter().any(|r| r.id == *id));
                        // The page may be gone by now.
                        let Some(current) = selected.try_get_untracked() else { return };
                        if current.is_none_or(|s| !l.iter().any(|r| r.id == s)) {
                            selected.set(remembered.or(l.first().map(|r| r.id)));
                        }
                        list.set(Load::Ready(l));
                    }
                    Err(e) => list.set(Load::Failed(e.to_string())),
                }
            });
        }
    });
    let choose = move |ev| {
        let id = event_target_value(&ev).parse::<Uuid>().ok();
        if let Some(id) = id {
            storage::save(REMEMBERED, &id);
        }
        selected.set(id);
    };
    move || match list.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading repertoires…"</p> }.into_any(),
        Load::Failed(message) => view! { <LoadFailed message /> }.into_any(),
        Load::Ready(l) if l.is_empty() => view! {
            <p class="empty">
                "Practice works on a repertoire. "
                <a href=paths::href("/repertoires")>"Make a repertoire"</a>
                " and add the tunes you play to it."
            </p>
        }
        .into_any(),
        Load::Ready(l) => view! {
            <div class="field">
                <label for="practice-repertoire">"Repertoire"</label>
                <select id="practice-repertoire" on:change=choose>
                    {l.into_iter()
                        .map(|r| {
                            let id = r.id;
                            view! {
                                <option value=id.to_string() selected=move || selected.get() == Some(id)>
                                    {r.fields.name}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
        }
        .into_any(),
    }
}

#[component]
pub fn PracticePage() -> impl IntoView {
    set_page_title("Practice");
    let app = use_app();
    let selected = RwSignal::new(None::<Uuid>);
    let day: RwSignal<Load<PracticeDay>> = RwSignal::new(Load::Loading);
    // This session: what is left (front first), what was rated (latest last).
    let queue = RwSignal::new(Vec::<Card>::new());
    let rated = RwSignal::new(Vec::<Done>::new());
    let error = RwSignal::new(None::<String>);
    // The day as it stands once the queue is done (for the summary: tomorrow's count).
    let finished = RwSignal::new(None::<PracticeDay>);
    let reload = RwSignal::new(0_u64);

    Effect::new(move || {
        reload.track();
        let (Some(db), Some(repertoire)) = (app.db(), selected.get()) else { return };
        spawn_local(async move {
            match db.practice_day(repertoire).await {
                Ok(d) => {
                    queue.set(d.cards.clone());
                    rated.set(Vec::new());
                    finished.set(None);
                    day.set(Load::Ready(d));
                }
                Err(e) => day.set(Load::Failed(e.to_string())),
            }
        });
    });

    // Changes synced in (a first sync on a new device, a rating on another) rebuild the
    // queue until practice starts here; after that they wait, not to shuffle the cards.
    Effect::new(move |seen: Option<()>| {
        app.changes.track(&[
            TableId::Tune,
            TableId::Repertoire,
            TableId::RepertoireTune,
            TableId::PracticeRecord,
        ]);
        if seen.is_some() && rated.with_untracked(Vec::is_empty) {
            reload.update(|v| *v += 1);
        }
    });

    // Counts as the day began plus this session's ratings.
    let done = move || {
        day.with(|d| if let Load::Ready(d) = d { d.done_today } else { 0 }) + rated.with(Vec::len) as u32
    };
    let total = move || done() + queue.with(Vec::len) as u32;
    let rate = move |rating: Rating| {
        let (Some(db), Some(repertoire)) = (app.db(), selected.get_untracked()) else { return };
        let Some(card) = queue.with_untracked(|q| q.first().cloned()) else { return };
        error.set(None);
        queue.update(|q| {
            q.remove(0);
        });
        spawn_local(async move {
            match db.rate_tune(repertoire, card.tune_id, rating).await {
                Ok(r) => {
                    rated.update(|list| list.push(Done { card, record: r.record_id }));
                    app.sync.soon(app);
                    if queue.try_with_untracked(Vec::is_empty).unwrap_or(false) {
                        // The summary's counts as they now stand; Undo stays possible.
                        if let Ok(d) = db.practice_day(repertoire).await {
                            finished.set(Some(d));
                        }
                    }
                }
                Err(e) => {
                    error.set(Some(format!("Could not save the rating: {e}")));
                    queue.update(|q| q.insert(0, card));
                }
            }
        });
    };
    let undo = move |_| {
        let Some(db) = app.db() else { return };
        let Some(last) = rated.with_untracked(|r| r.last().cloned()) else { return };
        error.set(None);
        spawn_local(async move {
            match db.run(Request::UndoRating { record: last.record }).await {
                Ok(()) => {
                    rated.update(|r| {
                        r.pop();
                    });
                    queue.update(|q| q.insert(0, last.card));
                    finished.set(None);
                    app.sync.soon(app);
                }
                Err(e) => error.set(Some(format!("Could not undo: {e}"))),
            }
        });
    };
    let skip = move |_| {
        queue.update(|q| {
            if !q.is_empty() {
                q.rotate_left(1);
            }
        })
    };

    let keys = window_event_listener(ev::keydown, move |event| {
        if event.default_prevented() || event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let in_field = event
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        let rating = match event.key().as_str() {
            "1" => Rating::Again,
            "2" => Rating::Hard,
            "3" => Rating::Good,
            "4" => Rating::Easy,
            _ => return,
        };
        if !in_field && queue.with_untracked(|q| !q.is_empty()) {
            event.prevent_default();
            rate(rating);
        }
    });
    on_cleanup(move || keys.remove());

    let card_view = move || {
        let card = queue.with(|q| q.first().cloned())?;
        let facts: Vec<String> = [card.tune_type.clone(), card.mode.clone(), card.structure.clone()]
            .into_iter()
            .flatten()
            .collect();
        let buttons = card
            .previews
            .iter()
            .map(|p| {
                let rating = p.rating;
                let id = format!("rate-{}", rating.label().to_lowercase());
                view! {
                    <button type="button" id=id class=format!("rating {}", rating.label().to_lowercase())
                        aria-keyshortcuts=rating.number().to_string()
                        on:click=move |_| rate(rating)>
                        <span class="rating-name">{rating.label()}</span>
                        <span class="rating-when">" · " {comes_back_in(p.interval_days)}</span>
                    </button>
                }
            })
            .collect_view();
        Some(view! {
            <article class="practice-card" aria-labelledby="practice-title">
                <h2 id="practice-title">
                    <a href=paths::href(&format!("/tunes/{}", card.tune_id))>{card.title.clone()}</a>
                </h2>
                {(!facts.is_empty()).then(|| view! { <p class="hint">{facts.join(" · ")}</p> })}
                {tunebook_core::abc::notation_text(
                    &card.title,
                    card.tune_type.as_deref(),
                    card.mode.as_deref(),
                    card.incipit.as_deref(),
                    card.abc.as_deref(),
                )
                .map(|abc| view! { <Notation abc=Some(abc) controls=false label=card.title.clone() /> })}
                {card.latest_note.clone().map(|n| view! {
                    <div class="latest-note"><h3>"Latest note"</h3><p>{n}</p></div>
                })}
                <div class="ratings" role="group" aria-label="How did it go?">{buttons}</div>
                <p class="hint">"Keys 1–4 rate: Again, Hard, Good, Easy."</p>
            </article>
        })
    };
    let summary = move || {
        if queue.with(|q| !q.is_empty()) {
            return None;
        }
        // Nothing was left to practise when the page opened, or the queue is done.
        let d = finished.get().or_else(|| match day.get() {
            Load::Ready(d) if rated.with(Vec::is_empty) => Some(d),
            _ => None,
        })?;
        let counts = d.rated_today;
        let how: Vec<String> =
            Rating::ALL.iter().map(|r| format!("{} {}", counts[r.index()], r.label())).collect();
        Some(view! {
            <section class="practice-summary" aria-labelledby="summary-title">
                <h2 id="summary-title">"Done for today"</h2>
                <p>"You practised " {tunes(d.done_today)} " today: " {how.join(", ")} "."</p>
                <p>"Due tomorrow: " {tunes(d.due_tomorrow)} "."</p>
            </section>
        })
    };

    view! {
        <section class="practice">
            <h1>"Practice"</h1>
            <RepertoirePicker selected />
            {move || match day.get() {
                Load::Loading if selected.get().is_some() => {
                    view! { <p class="loading" role="status">"Building today's queue…"</p> }.into_any()
                }
                Load::Loading => ().into_any(),
                Load::Failed(message) => view! { <LoadFailed message /> }.into_any(),
                Load::Ready(_) => view! {
                    <p class="practice-progress" role="status">{move || practised_of(done(), total())}</p>
                    <progress max=move || total().max(1) value=done aria-label="Today's practice"></progress>
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    {card_view}
                    {summary}
                    <div class="practice-actions">
                        <button type="button" on:click=undo disabled=move || rated.with(Vec::is_empty)>"Undo"</button>
                        <button type="button" on:click=skip disabled=move || queue.with(|q| q.len() < 2)>"Skip"</button>
                    </div>
                }
                .into_any(),
            }}
            {move || selected.get().map(|repertoire| view! { <PracticeSettings repertoire day reload /> })}
        </section>
    }
}

/// The repertoire's practice settings form.
#[component]
fn PracticeSettings(
    repertoire: Uuid,
    day: RwSignal<Load<PracticeDay>>,
    reload: RwSignal<u64>,
) -> impl IntoView {
    let app = use_app();
    let retention = RwSignal::new(String::new());
    let max_reviews = RwSignal::new(String::new());
    let new_per_day = RwSignal::new(String::new());
    let max_interval = RwSignal::new(String::new());
    let error = RwSignal::new(None::<InputError>);
    let saved = RwSignal::new(None::<String>);
    Effect::new(move || {
        if let Load::Ready(d) = day.get() {
            let draft = d.settings.to_draft();
            retention.set(draft.desired_retention);
            max_reviews.set(draft.max_reviews_per_day);
            new_per_day.set(draft.new_per_day);
            max_interval.set(draft.max_interval_days);
        }
    });
    let about = move |field: &'static str| {
        Signal::derive(move || error.get().filter(|e| e.field == field).map(|e| e.message))
    };
    let save = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some(db) = app.db() else { return };
        saved.set(None);
        let draft = SettingsDraft {
            desired_retention: retention.get_untracked(),
            max_reviews_per_day: max_reviews.get_untracked(),
            new_per_day: new_per_day.get_untracked(),
            max_interval_days: max_interval.get_untracked(),
        };
        spawn_local(async move {
            match db.save_practice_settings(repertoire, draft).await {
                Ok(_) => {
                    error.set(None);
                    saved.set(Some("Settings saved.".into()));
                    reload.update(|v| *v += 1);
                    app.sync.soon(app);
                }
                Err(e) => error.set(Some(input_failure(e))),
            }
        });
    };
    view! {
        <details class="practice-settings">
            <summary>"Settings"</summary>
            <p class="hint">
                "For this repertoire, on every device. Desired retention is the chance of still knowing a tune when it comes back (0.70–0.99); maximum reviews per day counts new tunes too (0 = no limit); the maximum interval is in days."
            </p>
            <form on:submit=save novalidate=true>
                <LabeledInput id="desired-retention" label="Desired retention" value=retention error=about("desired-retention") />
                <LabeledInput id="max-reviews" label="Maximum reviews per day" value=max_reviews kind="number" error=about("max-reviews") />
                <LabeledInput id="new-per-day" label="New tunes per day" value=new_per_day kind="number" error=about("new-per-day") />
                <LabeledInput id="max-interval" label="Maximum interval" value=max_interval kind="number" error=about("max-interval") />
                <p class="error" role="alert" hidden=move || error.get().is_none_or(|e| !e.field.is_empty())>
                    {move || error.get().map(|e| e.message)}
                </p>
                <button type="submit" class="primary">"Save settings"</button>
                <p role="status">{move || saved.get()}</p>
            </form>
        </details>
    }
}
