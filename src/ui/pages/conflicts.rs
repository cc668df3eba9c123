//! The Conflicts page (`/conflicts`): each row (a tune, repertoire, note, reference)
//! changed here and on another device in ways that could not be merged, with both
//! versions side by side, field by field. The musician keeps this device's version, the
//! other one, or picks per field; the result is then synced like any edit. A row whose
//! parent was deleted elsewhere while it changed here (a note on a deleted tune) asks
//! "Restore the tune" or "Delete the note". Until then both versions are kept.

use leptos::prelude::*;

use crate::ui::paths;
use leptos::task::spawn_local;
use tunebook_core::merge::{Conflict, Content, Part, Side};
use tunebook_core::tables::TableId;

use crate::ui::context::use_app;
use crate::ui::format::local_date_time;

/// How a part reads in the table.
fn shown(content: &Content, part: &Part) -> String {
    let text = match part {
        Part::Field(f) => content.text(f),
        Part::Deleted => (if content.deleted { "Deleted" } else { "Kept" }).to_string(),
        Part::Parent(_) => String::new(),
    };
    if text.is_empty() { "—".into() } else { text }
}

/// "note on The Kesh", "tune" — what the card is about.
fn subject(conflict: &Conflict) -> String {
    let noun = conflict.table.spec().noun;
    match &conflict.parent_title {
        Some(parent) => format!("{noun} on “{parent}”"),
        None => noun.to_string(),
    }
}

#[component]
pub fn ConflictsPage() -> impl IntoView {
    crate::ui::format::set_page_title("Conflicts");
    let app = use_app();
    let conflicts = RwSignal::new(None::<Vec<Conflict>>);
    let error = RwSignal::new(None::<String>);
    let load = move || {
        spawn_local(async move {
            if let Some(db) = app.db() {
                match db.conflicts().await {
                    Ok(list) => conflicts.set(Some(list)),
                    Err(e) => error.set(Some(e.to_string())),
                }
            }
        })
    };
    Effect::new(move || {
        app.changes.track(&TableId::ALL);
        load();
    });
    let resolve = move |id: i64, choices: Vec<(Part, Side)>| {
        spawn_local(async move {
            if let Some(db) = app.db() {
                match db.resolve_conflict(id, choices).await {
                    Ok(()) => {
                        app.data_changed();
                        app.sync.soon(app);
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
            }
        })
    };

    view! {
        <section class="conflicts">
            <h1>"Conflicts"</h1>
            <p class="hint">
                "These were changed on this device and on another one while they were apart, in the same places. Choose what to keep; nothing is lost until you do."
            </p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match conflicts.get() {
                None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                Some(list) if list.is_empty() => view! {
                    <p class="empty">"No conflicts. " <a href=paths::href("/")>"Back to your tunes"</a></p>
                }
                .into_any(),
                Some(list) => list
                    .into_iter()
                    .map(|c| {
                        if c.orphan_of().is_some() {
                            view! { <OrphanCard conflict=c on_resolve=resolve /> }.into_any()
                        } else {
                            view! { <ConflictCard conflict=c on_resolve=resolve /> }.into_any()
                        }
                    })
                    .collect_view()
                    .into_any(),
            }}
        </section>
    }
}

/// A row whose parent was deleted on another device while it changed here.
#[component]
fn OrphanCard(
    conflict: Conflict,
    on_resolve: impl Fn(i64, Vec<(Part, Side)>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = conflict.id;
    let Some((parent_table, _)) = conflict.orphan_of() else { return ().into_any() };
    let part = conflict.parts.first().cloned().unwrap_or(Part::Deleted);
    let (noun, parent_noun) = (conflict.table.spec().noun, parent_table.spec().noun);
    let parent = conflict.parent_title.clone().unwrap_or_else(|| format!("this {parent_noun}"));
    // A membership has no text of its own worth quoting (its title column is an id).
    let what = (conflict.table != TableId::RepertoireTune)
        .then(|| shown(&conflict.mine, &Part::Field(conflict.table.spec().title_column.into())));
    let (keep, drop) = ((part.clone(), Side::Mine), (part, Side::Theirs));
    view! {
        <article class="conflict-card" aria-labelledby=format!("conflict-{id}")>
            <h2 id=format!("conflict-{id}")>{format!("A {noun} on a deleted {parent_noun}")}</h2>
            <p>
                {format!("“{parent}” was deleted on one device while this {noun} was added or changed on another.")}
                {what.map(|w| view! { " " <q>{w}</q> })}
            </p>
            <p class="hint">"Found " {local_date_time(conflict.detected_at)}</p>
            <div class="actions">
                <button type="button" class="primary" on:click=move |_| on_resolve(id, vec![keep.clone()])>
                    {format!("Restore the {parent_noun}")}
                </button>
                <button type="button" on:click=move |_| on_resolve(id, vec![drop.clone()])>
                    {format!("Delete the {noun}")}
                </button>
            </div>
        </article>
    }
    .into_any()
}

#[component]
fn ConflictCard(
    conflict: Conflict,
    on_resolve: impl Fn(i64, Vec<(Part, Side)>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let merge = conflict.merge();
    let id = conflict.id;
    let table: TableId = conflict.table;
    let title = if table == TableId::Tune {
        conflict.title()
    } else {
        format!("{} ({})", conflict.title(), subject(&conflict))
    };
    // The musician's picks, one per conflicting part; "this device" until changed.
    let picks = RwSignal::new(merge.conflicts.iter().map(|p| (p.clone(), Side::Mine)).collect::<Vec<_>>());
    let all = |side: Side| merge.conflicts.iter().map(|p| (p.clone(), side)).collect::<Vec<_>>();
    let (keep_mine, keep_theirs) = (all(Side::Mine), all(Side::Theirs));

    // Every column the musician controls (not the parent links), then the delete.
    let spec = table.spec();
    let parts: Vec<Part> = spec
        .columns
        .iter()
        .filter(|c| !spec.parents.iter().any(|p| p.column == c.name))
        .map(|c| Part::Field(c.name.to_string()))
        .chain([Part::Deleted])
        .collect();
    let rows = parts
        .into_iter()
        .filter(|p| merge.conflicts.contains(p) || shown(&conflict.mine, p) != shown(&conflict.theirs, p))
        .map(|part| {
            let (mine, theirs, merged) =
                (shown(&conflict.mine, &part), shown(&conflict.theirs, &part), shown(&merge.merged, &part));
            let label = part.label(table);
            if !merge.conflicts.contains(&part) {
                return view! {
                    <tr>
                        <th scope="row">{label}</th>
                        <td colspan="2">"Merged: " {merged}</td>
                    </tr>
                }
                .into_any();
            }
            let key = format!("c{id}-{}", part.key());
            let (mine_id, theirs_id) = (format!("{key}-mine"), format!("{key}-theirs"));
            let (for_choose, for_is) = (part.clone(), part);
            let choose = move |side: Side| {
                picks.update(|p| {
                    if let Some(entry) = p.iter_mut().find(|(q, _)| *q == for_choose) {
                        entry.1 = side;
                    }
                })
            };
            let is = move |side: Side| picks.with(|p| p.iter().any(|(q, s)| *q == for_is && *s == side));
            let choose_mine = choose.clone();
            let is_mine = is.clone();
            view! {
                <tr class="conflicting">
                    <th scope="row">{label}</th>
                    <td>
                        <input type="radio" id=mine_id.clone() name=key.clone() prop:checked=move || is_mine(Side::Mine) on:change=move |_| choose_mine(Side::Mine) />
                        <label for=mine_id>"This device: " {mine}</label>
                    </td>
                    <td>
                        <input type="radio" id=theirs_id.clone() name=key prop:checked=move || is(Side::Theirs) on:change=move |_| choose(Side::Theirs) />
                        <label for=theirs_id>"Other device: " {theirs}</label>
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect_view();

    view! {
        <article class="conflict-card" aria-labelledby=format!("conflict-{id}")>
            <h2 id=format!("conflict-{id}")>{title}</h2>
            <p class="hint">"Found " {local_date_time(conflict.detected_at)}</p>
            <table class="compare">
                <thead>
                    <tr><th scope="col">"Field"</th><th scope="col">"This device"</th><th scope="col">"Other device"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="actions">
                <button type="button" on:click=move |_| on_resolve(id, keep_mine.clone())>"Keep this device's version"</button>
                <button type="button" on:click=move |_| on_resolve(id, keep_theirs.clone())>"Keep the other version"</button>
                <button type="button" class="primary" on:click=move |_| on_resolve(id, picks.get_untracked())>"Use my choices"</button>
            </div>
        </article>
    }
}
