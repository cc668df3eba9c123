//! Import (`/import`, linked from the list): ABC tune books chosen as files, dropped on
//! the page, or pasted. A preview lists what will be imported, with likely duplicates of
//! tunes already here (same title and key) left unticked, and the tunes that could not
//! be read with the reason; "Import N tunes" stores the ticked ones (optionally into a
//! repertoire) in batches, with a progress bar. Reading happens here (the parser is
//! `tunebook_core::abc`); storing in the database worker; syncing in the background.

use std::collections::HashSet;

use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::abc::{AbcBook, decode, identity, parse_book};
use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::Repertoire;
use tunebook_core::text::thousands;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::ui::context::use_app;
use crate::ui::format::set_page_title;
use crate::ui::paths;

/// Tunes stored per request: small enough for the progress bar to move, large enough
/// that a 2,000-tune book needs few transactions.
const BATCH: usize = 100;

/// The text of every file, each decoded (UTF-8, else Latin-1), joined by blank lines.
async fn read_files(files: web_sys::FileList) -> Result<String, String> {
    let mut text = String::new();
    for i in 0..files.length() {
        let Some(file) = files.item(i) else { continue };
        let buffer = JsFuture::from(file.array_buffer())
            .await
            .map_err(|_| format!("Could not read {}.", file.name()))?;
        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
        text.push_str(&decode(&bytes));
        text.push_str("\n\n");
    }
    Ok(text)
}

/// What the preview shows: the book, which tunes are ticked, which are already here.
#[derive(Clone, Default)]
struct Preview {
    book: AbcBook,
    duplicate: Vec<bool>,
}

#[component]
pub fn ImportPage() -> impl IntoView {
    set_page_title("Import");
    let app = use_app();
    let pasted = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<Preview>);
    let ticked = RwSignal::new(Vec::<bool>::new());
    let error = RwSignal::new(None::<String>);
    let repertoires = RwSignal::new(Vec::<Repertoire>::new());
    let into = RwSignal::new(None::<Uuid>);
    // (stored, of) while importing; the outcome after.
    let progress = RwSignal::new(None::<(usize, usize)>);
    let done = RwSignal::new(None::<String>);
    let dragging = RwSignal::new(false);

    Effect::new(move || {
        if let Some(db) = app.db() {
            spawn_local(async move {
                if let Ok(list) = db.repertoires().await {
                    repertoires.set(list);
                }
            });
        }
    });

    // Reads a book and marks the tunes already in the tunebook.
    let show = move |text: String| {
        let Some(db) = app.db() else { return };
        done.set(None);
        error.set(None);
        spawn_local(async move {
            let book = parse_book(&text);
            if book.tunes.is_empty() && book.unreadable.is_empty() {
                error.set(Some("No tunes found: each tune in an ABC file starts with an X: line.".into()));
                preview.set(None);
                return;
            }
            let here: HashSet<(String, String)> = match db.tune_identities().await {
                Ok(list) => list.iter().map(|(t, m)| identity(t, m.as_deref())).collect(),
                Err(e) => {
                    error.set(Some(format!("Could not compare with your tunes: {e}")));
                    HashSet::new()
                }
            };
            let duplicate: Vec<bool> = book.tunes.iter().map(|t| here.contains(&t.identity())).collect();
            ticked.set(duplicate.iter().map(|d| !d).collect());
            preview.set(Some(Preview { book, duplicate }));
        });
    };
    let on_files = move |ev: leptos::ev::Event| {
        let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        let Some(files) = input.and_then(|i| i.files()) else { return };
        spawn_local(async move {
            match read_files(files).await {
                Ok(text) => show(text),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        let Some(files) = ev.data_transfer().and_then(|d| d.files()) else { return };
        spawn_local(async move {
            match read_files(files).await {
                Ok(text) => show(text),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let read_pasted = move |_| {
        let text = pasted.get_untracked();
        if text.trim().is_empty() {
            error.set(Some("Paste ABC into the box first.".into()));
            return;
        }
        show(text);
    };

    let chosen = move || ticked.with(|t| t.iter().filter(|x| **x).count());
    let import = move |_| {
        let (Some(db), Some(p)) = (app.db(), preview.get_untracked()) else { return };
        let picks = ticked.get_untracked();
        let drafts: Vec<_> =
            p.book.tunes.iter().zip(picks).filter(|(_, pick)| *pick).map(|(t, _)| t.to_draft()).collect();
        if drafts.is_empty() {
            return;
        }
        let (total, repertoire) = (drafts.len(), into.get_untracked());
        progress.set(Some((0, total)));
        spawn_local(async move {
            let mut stored = 0;
            for batch in drafts.chunks(BATCH) {
                match db.import_into(batch.to_vec(), repertoire).await {
                    Ok(n) => {
                        stored += n;
                        progress.set(Some((stored, total)));
                    }
                    Err(e) => {
                        error.set(Some(format!(
                            "Stopped after {} of {}: {e}",
                            thousands(stored as u64),
                            thousands(total as u64)
                        )));
                        break;
                    }
                }
            }
            progress.set(None);
            if stored > 0 {
                done.set(Some(format!("Imported {} tunes.", thousands(stored as u64))));
                preview.set(None);
                app.data_changed();
                app.sync.soon(app);
            }
        });
    };

    let table = move || {
        let p = preview.get()?;
        let new = p.duplicate.iter().filter(|d| !**d).count();
        let dupes = p.duplicate.len() - new;
        let summary = format!(
            "{} tunes found; {} already in your tunebook (not ticked); {} could not be read.",
            thousands(p.book.tunes.len() as u64),
            thousands(dupes as u64),
            thousands(p.book.unreadable.len() as u64)
        );
        let rows = p
            .book
            .tunes
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let id = format!("import-{i}");
                let title = t.titles.first().cloned().unwrap_or_default();
                let key = t.key.as_ref().map(|k| k.to_string()).unwrap_or_else(|| t.key_field.clone());
                let duplicate = p.duplicate[i];
                view! {
                    <tr class:duplicate=duplicate>
                        <td>
                            <input type="checkbox" id=id.clone() prop:checked=move || ticked.with(|t| t[i])
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    ticked.update(|t| t[i] = on);
                                } />
                            <label for=id>{title}</label>
                        </td>
                        <td>{key}</td>
                        <td>{t.rhythm.clone().unwrap_or_default()}</td>
                        <td>{duplicate.then_some("Already in your tunebook")}</td>
                    </tr>
                }
            })
            .collect_view();
        let unreadable = (!p.book.unreadable.is_empty()).then(|| {
            view! {
                <h2>"Could not be read"</h2>
                <ul class="unreadable">
                    {p.book.unreadable.iter().map(|u| {
                        let what = u.title.clone().map(|t| format!(" ({t})")).unwrap_or_default();
                        view! { <li>{format!("Line {}{what}: {}.", u.line, u.reason)}</li> }
                    }).collect_view()}
                </ul>
            }
        });
        Some(view! {
            <p role="status">{summary}</p>
            {unreadable}
            <div class="field">
                <label for="import-repertoire">"Add to repertoire"</label>
                <select id="import-repertoire" on:change=move |ev| into.set(event_target_value(&ev).parse().ok())>
                    <option value="">"None"</option>
                    {move || repertoires.get().into_iter().map(|r| view! {
                        <option value=r.id.to_string()>{r.fields.name}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="button" class="primary" on:click=import disabled=move || chosen() == 0 || progress.get().is_some()>
                {move || format!("Import {} tunes", thousands(chosen() as u64))}
            </button>
            <table class="import-preview">
                <thead><tr><th scope="col">"Title"</th><th scope="col">"Key"</th><th scope="col">"Type"</th><th scope="col">"Note"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };

    view! {
        <section class="import" class:dragging=move || dragging.get()
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <h1>"Import"</h1>
            <p>"Bring in ABC tune books: choose .abc files, drop them on this page, or paste ABC below. "
               <a href=paths::href("/")>"Back to your tunes"</a></p>
            <div class="field">
                <label for="abc-files">"ABC files"</label>
                <input id="abc-files" type="file" accept=".abc,text/vnd.abc,text/plain" multiple=true on:change=on_files />
            </div>
            <div class="field">
                <label for="abc-text">"ABC text"</label>
                <textarea id="abc-text" rows="6" spellcheck="false" class="incipit" prop:value=move || pasted.get()
                    on:input=move |ev| pasted.set(event_target_value(&ev))></textarea>
            </div>
            <button type="button" on:click=read_pasted>"Read pasted ABC"</button>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || progress.get().map(|(n, of)| view! {
                <p role="status">{format!("Importing… {} of {}", thousands(n as u64), thousands(of as u64))}</p>
                <progress max=of value=n aria-label="Import progress"></progress>
            })}
            {move || done.get().map(|d| view! { <p role="status" class="done">{d} " " <a href=paths::href("/")>"See your tunes"</a></p> })}
            {table}
        </section>
    }
}
