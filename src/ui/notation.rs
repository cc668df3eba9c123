//! Staff notation and playback of ABC through abcjs, which the app ships itself
//! (`notation/abcjs-basic-min.js`, see scripts/notation-assets.sh) and loads only when a
//! page shows notation, so the first load does not pay for it. The first time, the
//! service worker is asked to keep abcjs and the instrument samples for offline use.
//!
//! [`Notation`] draws a staff (responsive width, transposed by semitones); with
//! `controls`, it adds "Transpose down" / "Transpose up", "Play" / "Stop" and "Tempo".

use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::paths;

#[wasm_bindgen(inline_js = r#"
let loading = null;
export function load_abcjs(url) {
  if (window.ABCJS) return Promise.resolve();
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = url;
      s.async = true;
      s.onload = () => resolve();
      s.onerror = () => { loading = null; s.remove(); reject(new Error("the notation library could not be loaded (offline before it was ever used?)")); };
      document.head.appendChild(s);
    });
  }
  return loading;
}
export function warm_notation() {
  if (navigator.serviceWorker && navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage("warm-notation");
}
export function render_abc(el, abc, transpose) {
  const tunes = window.ABCJS.renderAbc(el, abc, { responsive: "resize", visualTranspose: transpose, add_classes: true });
  return tunes[0];
}
export async function play_abc(visualObj, soundFontUrl, tempoPercent, onEnded) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  const ctx = new Ctx();
  await ctx.resume();
  const synth = new window.ABCJS.synth.CreateSynth();
  const perMeasure = visualObj.millisecondsPerMeasure() * 100 / tempoPercent;
  await synth.init({ visualObj, audioContext: ctx, millisecondsPerMeasure: perMeasure, options: { soundFontUrl, onEnded } });
  await synth.prime();
  synth.start();
  return { synth, ctx };
}
export function stop_abc(player) {
  try { player.synth.stop(); } catch (_) {}
  player.ctx.close();
}
export function audio_state(player) { return player.ctx.state; }
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn load_abcjs(url: &str) -> Result<js_sys::Promise, JsValue>;
    fn warm_notation();
    #[wasm_bindgen(catch)]
    fn render_abc(el: &web_sys::HtmlElement, abc: &str, transpose: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn play_abc(
        visual: &JsValue,
        sound_font_url: &str,
        tempo_percent: u32,
        on_ended: &js_sys::Function,
    ) -> Result<js_sys::Promise, JsValue>;
    fn stop_abc(player: &JsValue);
    fn audio_state(player: &JsValue) -> String;
}

fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"))
}

/// Loads abcjs (once) and asks the service worker to keep notation for offline use.
async fn ready() -> Result<(), String> {
    let promise = load_abcjs(&paths::href("/notation/abcjs-basic-min.js")).map_err(message)?;
    JsFuture::from(promise).await.map_err(message)?;
    warm_notation();
    Ok(())
}

/// A staff for `abc`; with `controls`, transposing and playback too.
#[component]
pub fn Notation(
    #[prop(into)] abc: Signal<Option<String>>,
    #[prop(default = true)] controls: bool,
    /// What the staff is of, for screen readers ("The Kesh").
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let staff = NodeRef::<Div>::new();
    let transpose = RwSignal::new(0_i32);
    let tempo = RwSignal::new(String::from("100"));
    let error = RwSignal::new(None::<String>);
    // The drawn tune (abcjs's object, what playback reads) and the player while playing.
    let drawn = StoredValue::new(None::<SendWrapper<JsValue>>);
    let player = StoredValue::new(None::<SendWrapper<JsValue>>);
    let playing = RwSignal::new(false);
    let audio = RwSignal::new(String::new());

    Effect::new(move || {
        let (text, semitones) = (abc.get(), transpose.get());
        let Some(el) = staff.get() else { return };
        let Some(text) = text else { return };
        spawn_local(async move {
            if let Err(e) = ready().await {
                error.set(Some(format!("Notation is not available: {e}.")));
                return;
            }
            match render_abc(&el, &text, semitones) {
                Ok(tune) => {
                    error.set(None);
                    drawn.try_set_value(Some(SendWrapper::new(tune)));
                }
                Err(e) => error.set(Some(format!("This ABC could not be drawn: {}.", message(e)))),
            }
        });
    });

    let stop = move || {
        // Also runs as the component is disposed, when the stored player may be gone.
        if let Some(p) = player.try_get_value().flatten() {
            stop_abc(&p);
        }
        player.try_set_value(None);
        playing.set(false);
        audio.set(String::new());
    };
    on_cleanup(stop);
    let play = move |_| {
        let Some(tune) = drawn.try_get_value().flatten() else { return };
        let percent = tempo.get_untracked().parse::<u32>().unwrap_or(100).clamp(25, 200);
        playing.set(true);
        error.set(None);
        spawn_local(async move {
            let ended = Closure::<dyn Fn()>::new(move || {
                playing.set(false);
                audio.set(String::new());
            });
            let started = match play_abc(
                &tune,
                &paths::href("/notation/soundfont/"),
                percent,
                ended.as_ref().unchecked_ref(),
            ) {
                Ok(p) => JsFuture::from(p).await.map_err(message),
                Err(e) => Err(message(e)),
            };
            // abcjs may call it after this task ends.
            ended.forget();
            match started {
                Ok(p) => {
                    audio.set(audio_state(&p));
                    // Left the page meanwhile: stop what just started.
                    if let Some(Some(p)) = player.try_set_value(Some(SendWrapper::new(p))) {
                        stop_abc(&p);
                    }
                }
                Err(e) => {
                    playing.set(false);
                    error.set(Some(format!("Playback failed: {e}.")));
                }
            }
        });
    };

    let controls_view = controls.then(|| {
        view! {
            <div class="notation-controls">
                <button type="button" on:click=move |_| transpose.update(|t| *t -= 1)>"Transpose down"</button>
                <span class="transpose" aria-live="polite">
                    {move || match transpose.get() {
                        0 => "Original key".to_string(),
                        t => format!("Transposed {t:+} semitones"),
                    }}
                </span>
                <button type="button" on:click=move |_| transpose.update(|t| *t += 1)>"Transpose up"</button>
                {move || if playing.get() {
                    view! { <button type="button" class="primary" on:click=move |_| stop()>"Stop"</button> }.into_any()
                } else {
                    view! { <button type="button" class="primary" on:click=play>"Play"</button> }.into_any()
                }}
                <label for="tempo">"Tempo"</label>
                <input id="tempo" type="range" min="50" max="150" step="5" prop:value=move || tempo.get()
                    on:input=move |ev| tempo.set(event_target_value(&ev)) aria-valuetext=move || format!("{}%", tempo.get()) />
                <span class="hint">{move || format!("{}%", tempo.get())}</span>
            </div>
        }
    });
    view! {
        <div class="notation" data-audio-state=move || audio.get()>
            {controls_view}
            <div class="staff" node_ref=staff role="img" aria-label=format!("Staff notation of {label}")></div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
}
