//! The tune list at `/`: a sortable, filterable table, one page of rows at a time, so
//! the DOM stays small however many tunes there are. The filter, tag, repertoire, sort
//! and page live in the address (`/?q=…&tag=…&sort=…&order=desc&page=2`): reload, Back
//! and shared links keep them. A repertoire's page shows the same list narrowed to it,
//! with "Remove" per tune.

use leptos::prelude::*;

use crate::ui::paths;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use super::Load;
use crate::ui::context::use_app;
use crate::ui::db_client::DbClient;
use crate::ui::format::local_date_time;
use crate::ui::format::set_page_title;
use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::Repertoire;
use tunebook_core::list::{ListQuery, SortColumn, TunePage};
use tunebook_core::tables::TableId;
use tunebook_core::text::{page_range, tune_count};

/// Rows per page.
const PAGE_SIZE: u32 = 50;

/// The User Timing mark set when the first rows have been painted.
pub const FIRST_ROWS_MARK: &str = "tunebook:first-rows";

/// Marks `name` in the page's performance timeline once the rows are painted, once per
/// page load: animation-frame callbacks run before their frame is painted, so the mark
/// is set in the frame after the one that first shows the rows.
fn mark_once(name: &'static str) {
    thread_local!(static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    let mark = wasm_bindgen::closure::Closure::once_into_js(move || {
        if let Some(performance) = window().performance() {
            let _ = performance.mark(name);
        }
    });
    let after_paint = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = window().request_animation_frame(wasm_bindgen::JsCast::unchecked_ref(&mark));
    });
    let _ = window().request_animation_frame(wasm_bindgen::JsCast::unchecked_ref(&after_paint));
}

/// A header click: sort by that column, or reverse if it already is (back to page 1).
fn toggled(query: &ListQuery, column: SortColumn) -> ListQuery {
    let descending = query.sort == column && !query.descending;
    ListQuery { sort: column, descending, offset: 0, ..query.clone() }
}

/// The list of every tune (`repertoire: None`, at `/`), or of one repertoire's tunes (on
/// its page).
#[component]
pub fn TuneList(db: DbClient, #[prop(optional)] repertoire: Option<Uuid>) -> impl IntoView {
    let app = use_app();
    if repertoire.is_none() {
        set_page_title("Tunes");
    }
    let location = use_location();
    let navigate = use_navigate();
    let query = Memo::new(move |_| {
        let mut q = ListQuery::from_query_string(&location.search.get(), PAGE_SIZE);
        if repertoire.is_some() {
            q.repertoire = repertoire;
        }
        q
    });
    let base = match repertoire {
        Some(id) => format!("/repertoires/{id}"),
        None => "/".to_string(),
    };
    // Typing in the filter replaces the address; sorting and paging add to the history.
    // The address is built whole (`/tunebook/?q=…` under a sub-path, never `/tunebook?q=…`).
    let go = StoredValue::new(move |mut next: ListQuery, replace: bool| {
        if repertoire.is_some() {
            // Implied by the page's own address.
            next.repertoire = None;
        }
        let search = next.to_query_string();
        let root = paths::href(&base);
        let url = if search.is_empty() { root } else { format!("{root}?{search}") };
        navigate(
            &url,
            NavigateOptions { resolve: false, replace, scroll: false, ..NavigateOptions::default() },
        );
    });
    let page: RwSignal<Load<TunePage>> = RwSignal::new(Load::Loading);
    // Only the newest query's answer is shown: typing fast must not flash stale rows.
    let latest = StoredValue::new(0u64);

    // Narrowing choices: the tags, repertoires, keys and types in use.
    let tags = RwSignal::new(Vec::<(String, u32)>::new());
    let facets = RwSignal::new((Vec::<String>::new(), Vec::<String>::new()));
    let repertoires = RwSignal::new(Vec::<Repertoire>::new());
    let reload = RwSignal::new(0_u64);
    {
        let db = db.clone();
        Effect::new(move || {
            app.changes.track(&[TableId::Tune, TableId::Repertoire, TableId::RepertoireTune, TableId::Tag]);
            let db = db.clone();
            spawn_local(async move {
                if let Ok(list) = db.all_tags().await {
                    tags.set(list);
                }
                if let Ok(f) = db.facets().await {
                    facets.set(f);
                }
                if repertoire.is_none()
                    && let Ok(list) = db.repertoires().await
                {
                    repertoires.set(list);
                }
            });
        });
    }
    let remove_db = db.clone();
    let export_db = db.clone();
    let export_message = RwSignal::new(None::<String>);
    let export = move |_| {
        let db = export_db.clone();
        let q = query.get_untracked();
        spawn_local(async move {
            let name = if repertoire.is_some()
                || q.tag.is_some()
                || q.key.is_some()
                || q.tune_type.is_some()
                || !q.filter.is_empty()
            {
                "tunebook-selection.abc"
            } else {
                "tunebook.abc"
            };
            let result = match db.export_abc(q).await {
                Ok((text, n)) => crate::ui::download::download(name, "text/vnd.abc", &text)
                    .map(|()| format!("Exported {} to {name}.", tune_count(n as u64, n as u64))),
                Err(e) => Err(e.to_string()),
            };
            export_message.set(Some(result.unwrap_or_else(|e| format!("Could not export: {e}"))));
        });
    };

    Effect::new(move || {
        let query = query.get();
        // Reload when the database under the list changed (sign-in, sign-out).
        app.changes.track(&[TableId::Tune, TableId::Repertoire, TableId::RepertoireTune, TableId::Tag]);
        reload.track();
        let db = db.clone();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        spawn_local(async move {
            let result = db.list_tunes(query).await;
            // The list may be gone by now (the musician moved on): then nothing to show.
            if latest.try_get_value() == Some(ticket) {
                page.set(match result {
                    Ok(p) => Load::Ready(p),
                    Err(e) => Load::Failed(e.to_string()),
                });
            }
        });
    });

    // The first time rows are on screen, leave a User Timing mark (visible in the
    // browser's performance tools; the benchmark reads it).
    Effect::new(move || {
        if matches!(page.get(), Load::Ready(ref p) if !p.rows.is_empty()) {
            mark_once(FIRST_ROWS_MARK);
        }
    });

    let header = move |column: SortColumn| {
        let aria_sort = move || match query.with(|q| (q.sort == column, q.descending)) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        };
        let arrow = move || match aria_sort() {
            "ascending" => " ▲",
            "descending" => " ▼",
            _ => "",
        };
        view! {
            <th scope="col" aria-sort=aria_sort>
                <button
                    type="button"
                    class="sort"
                    on:click=move |_| go.with_value(|go| go(toggled(&query.get_untracked(), column), false))
                >
                    {column.label()}
                    <span aria-hidden="true">{arrow}</span>
                </button>
            </th>
        }
    };

    let body = move || {
        match page.get() {
        Load::Loading => view! { <p class="loading" role="status">"Loading tunes…"</p> }.into_any(),
        Load::Failed(message) => view! {
            <p class="error" role="alert">"Could not load your tunes: " {message}</p>
        }
        .into_any(),
        Load::Ready(p) if p.total == 0 => match app.sync.status.with(|s| s.run.pulling) {
            // A first sync of a big account: say so rather than show an empty tunebook.
            Some((done, total)) => {
                view! { <p class="loading" role="status">{tunebook_core::text::download_progress(done, total)}</p> }
                    .into_any()
            }
            None => view! {
                <p class="empty">"Your tunebook is empty. Add your first tune with “New tune”."</p>
            }
            .into_any(),
        },
        Load::Ready(p)
            if p.matched == 0 && repertoire.is_some() && query.with(|q| q.filter.is_empty() && q.tag.is_none()) =>
        {
            view! {
                <p class="empty">"No tunes in this repertoire yet. Add some with “Add tunes”."</p>
            }
            .into_any()
        }
        Load::Ready(p) if p.matched == 0 => {
            let filter = query.with_untracked(|q| q.filter.clone());
            let text = if filter.trim().is_empty() {
                "No tunes match this tag.".to_string()
            } else {
                format!("No tunes match “{filter}”.")
            };
            view! { <p class="empty">{text}</p> }.into_any()
        }
        Load::Ready(p) => {
            let has_prev = p.offset > 0;
            let has_next = u64::from(p.offset) + (p.rows.len() as u64) < p.matched;
            let range = page_range(p.offset, p.rows.len());
            let offset = p.offset;
            view! {
                <table class="tune-table">
                    <thead>
                        <tr>
                            {SortColumn::ALL.map(header)}
                            {repertoire.map(|_| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {p
                            .rows
                            .into_iter()
                            .map(|row| {
                                let remove = repertoire.map(|rep| {
                                    let db = remove_db.clone();
                                    let (tune, title) = (row.id, row.title.clone());
                                    view! {
                                        <td>
                                            <button type="button" aria-label=format!("Remove {title} from this repertoire")
                                                on:click=move |_| {
                                                    let db = db.clone();
                                                    spawn_local(async move {
                                                        let request = tunebook_core::protocol::Request::RemoveFromRepertoire { repertoire: rep, tune };
                                                        if db.run(request).await.is_ok() {
                                                            reload.update(|v| *v += 1);
                                                            app.sync.soon(app);
                                                        }
                                                    });
                                                }>
                                                "Remove"
                                            </button>
                                        </td>
                                    }
                                });
                                view! {
                                    <tr>
                                        <td>
                                            <a href=paths::href(&format!("/tunes/{}", row.id))>{row.title}</a>
                                        </td>
                                        <td>{row.tune_type}</td>
                                        <td>{row.mode}</td>
                                        <td>{row.genre}</td>
                                        <td>
                                            <time datetime=row.last_modified_at.to_string()>
                                                {local_date_time(row.last_modified_at)}
                                            </time>
                                        </td>
                                        {remove}
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
                <nav class="pager" aria-label="Pages">
                    <button
                        type="button"
                        disabled=!has_prev
                        on:click=move |_| {
                            let q = query.get_untracked();
                            go.with_value(|go| go(ListQuery { offset: offset.saturating_sub(PAGE_SIZE), ..q }, false))
                        }
                    >
                        "Previous page"
                    </button>
                    <span class="range">{range}</span>
                    <button
                        type="button"
                        disabled=!has_next
                        on:click=move |_| {
                            let q = query.get_untracked();
                            go.with_value(|go| go(ListQuery { offset: offset + PAGE_SIZE, ..q }, false))
                        }
                    >
                        "Next page"
                    </button>
                </nav>
            }
            .into_any()
        }
    }
    };

    let count = move || match page.get() {
        Load::Ready(p) => tune_count(p.matched, p.total),
        _ => String::new(),
    };

    let choose_tag = move |ev| {
        let tag = Some(event_target_value(&ev)).filter(|t| !t.is_empty());
        let q = query.get_untracked();
        go.with_value(|go| go(ListQuery { tag, offset: 0, ..q }, false))
    };
    let choose_repertoire = move |ev| {
        let repertoire = event_target_value(&ev).parse().ok();
        let q = query.get_untracked();
        go.with_value(|go| go(ListQuery { repertoire, offset: 0, ..q }, false))
    };
    let choose_key = move |ev| {
        let key = Some(event_target_value(&ev)).filter(|k| !k.is_empty());
        let q = query.get_untracked();
        go.with_value(|go| go(ListQuery { key, offset: 0, ..q }, false))
    };
    let choose_type = move |ev| {
        let tune_type = Some(event_target_value(&ev)).filter(|t| !t.is_empty());
        let q = query.get_untracked();
        go.with_value(|go| go(ListQuery { tune_type, offset: 0, ..q }, false))
    };
    let facet_select = move |id: &'static str, label: &'static str, all: &'static str, keys: bool| {
        let current = move || query.with(|q| if keys { q.key.clone() } else { q.tune_type.clone() });
        let on_change = move |ev| if keys { choose_key(ev) } else { choose_type(ev) };
        view! {
            <div class="field inline">
                <label for=id>{label}</label>
                <select id=id on:change=on_change>
                    <option value="" selected=move || current().is_none()>{all}</option>
                    {move || {
                        let values = facets.with(|(k, t)| if keys { k.clone() } else { t.clone() });
                        values
                            .into_iter()
                            .map(|v| {
                                let value = v.clone();
                                let selected = move || current().is_some_and(|c| c.eq_ignore_ascii_case(&value));
                                view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </div>
        }
    };
    let tag_select = view! {
        <div class="field inline">
            <label for="tag-filter">"Tag"</label>
            <select id="tag-filter" on:change=choose_tag>
                <option value="" selected=move || query.with(|q| q.tag.is_none())>"All tags"</option>
                {move || {
                    tags.get()
                        .into_iter()
                        .map(|(name, count)| {
                            let value = name.clone();
                            let selected = move || query.with(|q| q.tag.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(&value)));
                            view! { <option value=name.clone() selected=selected>{format!("{name} ({count})")}</option> }
                        })
                        .collect_view()
                }}
            </select>
        </div>
    };
    let repertoire_select = repertoire.is_none().then(|| view! {
        <div class="field inline">
            <label for="repertoire-filter">"Repertoire"</label>
            <select id="repertoire-filter" on:change=choose_repertoire>
                <option value="" selected=move || query.with(|q| q.repertoire.is_none())>"All repertoires"</option>
                {move || {
                    repertoires
                        .get()
                        .into_iter()
                        .map(|r| {
                            let id = r.id;
                            view! {
                                <option value=id.to_string() selected=move || query.with(|q| q.repertoire == Some(id))>
                                    {r.fields.name}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </div>
    });

    view! {
        <section class="tune-list">
            {repertoire.is_none().then(|| view! {
                <div class="list-toolbar">
                    <h1>"Tunes"</h1>
                    <a class="button primary" href=paths::href("/tunes/new")>"New tune"</a>
                    <a class="button" href=paths::href("/import")>"Import"</a>
                </div>
            })}
            <div class="filter-row">
                <label for="filter">"Filter"</label>
                <input
                    id="filter"
                    type="search"
                    placeholder="Title, composer or notes"
                    autocomplete="off"
                    prop:value=move || query.with(|q| q.filter.clone())
                    on:input=move |ev| {
                        let filter = event_target_value(&ev);
                        let q = query.get_untracked();
                        go.with_value(|go| go(ListQuery { filter, offset: 0, ..q }, true))
                    }
                />
                {tag_select}
                {repertoire_select}
                {facet_select("key-filter", "Key", "All keys", true)}
                {facet_select("type-filter", "Type", "All types", false)}
                <p class="count" role="status" aria-live="polite">{count}</p>
                <button type="button" on:click=export>"Export ABC"</button>
            </div>
            {move || export_message.get().map(|m| view! { <p role="status" class="hint">{m}</p> })}
            {body}
        </section>
    }
}
